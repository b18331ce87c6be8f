/*
 * C reference for the filecopy example (P4 done right): map the source read-only, create and size
 * the destination, map it shared, memcpy, unmap. Sizes are 64-bit (off_t), a larger existing
 * destination is truncated, and an empty source gives an empty copy.
 *
 *   mmap_copy SRC DST [WINDOW]
 *
 * Without WINDOW both files are mapped whole, as the tutorial's program does (peak RSS grows with the
 * file: mapped file pages count as resident). With WINDOW (bytes, a multiple of the page size) the
 * copy maps, copies and unmaps one window at a time, so memory stays bounded.
 */
#include "bench.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void copy_range(int source, int destination, off_t offset, size_t length) {
    void *from = mmap(NULL, length, PROT_READ, MAP_SHARED, source, offset);
    if (from == MAP_FAILED) die("mmap source");
    void *to = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, destination, offset);
    if (to == MAP_FAILED) die("mmap destination");
    memcpy(to, from, length);
    if (munmap(from, length) < 0 || munmap(to, length) < 0) die("munmap");
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s SRC DST [WINDOW]\n", argv[0]);
        return 2;
    }
    long window = argc == 4 ? parse_count(argv[3], "WINDOW") : 0;
    if (window % sysconf(_SC_PAGESIZE) != 0) {
        fprintf(stderr, "WINDOW must be a multiple of the page size\n");
        return 2;
    }
    int source = open(argv[1], O_RDONLY);
    if (source < 0) die(argv[1]);
    struct stat info;
    if (fstat(source, &info) < 0) die("fstat");
    int destination = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (destination < 0) die(argv[2]);
    if (ftruncate(destination, info.st_size) < 0) die("ftruncate");
    off_t size = info.st_size;
    if (window == 0 && size > 0) copy_range(source, destination, 0, (size_t)size);
    for (off_t offset = 0; window > 0 && offset < size; offset += window) {
        copy_range(source, destination, offset, (size_t)(size - offset < window ? size - offset : window));
    }
    if (close(source) < 0 || close(destination) < 0) die("close");
    return 0;
}
