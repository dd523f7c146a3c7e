class MediaError(Exception):
    """The input cannot become an asset. Permanent: retrying will not help."""

    def __init__(self, code: str, message: str, stderr_tail: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.stderr_tail = stderr_tail
