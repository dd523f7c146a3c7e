"""How the operator console writes dates: 24-hour, year first, as in logs and the API
("2026-11-30 17:09"), and narrow enough for a list column. Times are UTC (TIME_ZONE)."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
