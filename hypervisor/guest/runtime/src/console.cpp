// The console (console.hpp) and a small printf.
#include "shype/console.hpp"

#include <cstdarg>

#include "internal.hpp"
#include "shype/guest/runtime.hpp"

namespace shype::guest {
namespace {

// Collects formatted output and writes it in pieces.
class ConsoleBuffer {
 public:
  void put(char c) {
    if (used_ == sizeof bytes_) flush();
    bytes_[used_++] = c;
  }
  void put(const char* text) {
    if (text == nullptr) text = "(null)";
    while (*text != '\0')
      put(*text++);
  }
  void put_unsigned(std::uint64_t value, unsigned base) {
    char digits[20];
    std::size_t count = 0;
    do {
      const auto digit = static_cast<unsigned>(value % base);
      digits[count++] = static_cast<char>(digit < 10 ? '0' + digit : 'a' + (digit - 10));
      value /= base;
    } while (value != 0);
    while (count > 0)
      put(digits[--count]);
  }
  void put_signed(std::int64_t value) {
    if (value < 0) {
      put('-');
      // Negating through unsigned arithmetic also handles INT64_MIN.
      put_unsigned(0 - static_cast<std::uint64_t>(value), 10);
    } else {
      put_unsigned(static_cast<std::uint64_t>(value), 10);
    }
  }
  int flush() {
    const int status = used_ == 0 ? 0 : console_write(bytes_, used_);
    used_ = 0;
    if (status != 0 && status_ == 0) status_ = status;
    return status_;
  }

 private:
  char bytes_[512];
  std::size_t used_ = 0;
  int status_ = 0;
};

}  // namespace

int console_write(const char* bytes, std::size_t length) {
  // With devices the console is the ring (the console daemon logs it);
  // without, the hypervisor's console.
  if (detail::console_ring_connected()) return detail::console_ring_write(bytes, length);
  while (length > 0) {
    const std::size_t piece = length < abi::kMaxPayload ? length : abi::kMaxPayload;
    const int status = hypercall(abi::Op::console_io,
                                 static_cast<std::uint32_t>(abi::ConsoleIoOp::write), bytes, piece);
    if (status != 0) return status;
    bytes += piece;
    length -= piece;
  }
  return 0;
}

int console_puts(const char* text) {
  std::size_t length = 0;
  while (text[length] != '\0')
    ++length;
  return console_write(text, length);
}

int console_printf(const char* format, ...) {
  ConsoleBuffer out;
  va_list args;
  va_start(args, format);
  for (const char* p = format; *p != '\0'; ++p) {
    if (*p != '%') {
      out.put(*p);
      continue;
    }
    ++p;
    const bool is_long = *p == 'l';
    if (is_long) ++p;
    switch (*p) {
      case 'd':
        out.put_signed(is_long ? va_arg(args, long) : va_arg(args, int));
        break;
      case 'u':
        out.put_unsigned(is_long ? va_arg(args, unsigned long) : va_arg(args, unsigned), 10);
        break;
      case 'x':
        out.put_unsigned(is_long ? va_arg(args, unsigned long) : va_arg(args, unsigned), 16);
        break;
      case 's':
        out.put(va_arg(args, const char*));
        break;
      case 'c':
        out.put(static_cast<char>(va_arg(args, int)));
        break;
      case '%':
        out.put('%');
        break;
      case '\0':
        --p;  // a lone '%' at the end
        break;
      default:  // unsupported: shown as is
        out.put('%');
        if (is_long) out.put('l');
        out.put(*p);
        break;
    }
  }
  va_end(args);
  return out.flush();
}

}  // namespace shype::guest
