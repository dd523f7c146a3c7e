import ctypes
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _keep_request_buffers() -> None:
    """Let glibc reuse the 1 MiB buffers a streamed request body is read into.

    By default each such buffer is mmap'd and handed back to the kernel after every
    read, so the next one page-faults in afresh: under a multi-GB upload that cost more
    CPU than the copying itself (bench/upload.py). Heap them instead, and trim only
    past 16 MiB. Set MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ to override.
    """
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 4 * 1024 * 1024)
    libc.mallopt(m_trim_threshold, 16 * 1024 * 1024)


_keep_request_buffers()
application = get_wsgi_application()
