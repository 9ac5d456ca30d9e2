// The four functions a C++ compiler may call even in freestanding code
// (for struct copies, zeroing, and loops it recognises). Written with
// string instructions so that the compiler cannot turn them back into calls
// to themselves.
#include <cstddef>

extern "C" {

void* memcpy(void* destination, const void* source, std::size_t count) {
  void* d = destination;
  // SAFETY: copies `count` bytes from source to destination, which the
  // caller guarantees are valid and do not overlap (memcpy's contract);
  // rep movsb moves forwards (the direction flag is clear per the ABI).
  asm volatile("rep movsb" : "+D"(d), "+S"(source), "+c"(count) : : "memory");
  return destination;
}

void* memset(void* destination, int value, std::size_t count) {
  void* d = destination;
  // SAFETY: stores `count` bytes at destination, valid per memset's
  // contract.
  asm volatile("rep stosb" : "+D"(d), "+c"(count) : "a"(value) : "memory");
  return destination;
}

void* memmove(void* destination, const void* source, std::size_t count) {
  if (destination <= source || count == 0) return memcpy(destination, source, count);
  // Overlapping with destination above source: copy backwards.
  void* d = static_cast<char*>(destination) + count - 1;
  const void* s = static_cast<const char*>(source) + count - 1;
  // SAFETY: the same bytes as memcpy, walked from the end with the
  // direction flag set and cleared again, so that an overlapping source is
  // read before it is overwritten.
  asm volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(count) : : "memory");
  return destination;
}

int memcmp(const void* left, const void* right, std::size_t count) {
  const auto* a = static_cast<const unsigned char*>(left);
  const auto* b = static_cast<const unsigned char*>(right);
  for (std::size_t i = 0; i < count; ++i) {
    // SAFETY: reads within the `count` bytes memcmp's caller vouches for.
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return 0;
}

}  // extern "C"
