"""`memory.give_back` returns freed memory to the system (glibc's malloc_trim)."""

from app import memory


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def test_freed_memory_goes_back_to_the_system():
    """Pieces freed in the middle of the heap stay with the process until trimmed."""
    pieces = [bytearray(60_000) for _ in range(1500)]  # ~90 MB in the heap, under mmap's threshold
    pin = bytearray(60_000)  # above them: the heap cannot simply shrink from the top
    del pieces
    before = rss_mb()
    memory.give_back()
    assert rss_mb() < before - 50
    assert len(pin) == 60_000
