// A list of findings about one input, so that many problems are reported at
// once rather than only the first (validation, semantic checks).
#pragma once

#include <string>
#include <vector>

#include "acm/error.hpp"

namespace shype::acm {

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  SourceLocation where;
  std::string message;

  // "file:line: error: message" (the format compilers use, so editors can jump to it).
  [[nodiscard]] std::string to_string() const;
};

class Diagnostics {
 public:
  void error(SourceLocation where, std::string message);
  void warning(SourceLocation where, std::string message);
  void add(Diagnostic d);
  void append(const Diagnostics& other);

  [[nodiscard]] bool has_errors() const noexcept { return error_count_ > 0; }
  [[nodiscard]] std::size_t error_count() const noexcept { return error_count_; }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] const std::vector<Diagnostic>& items() const noexcept { return items_; }

  // All findings, one per line.
  [[nodiscard]] std::string to_string() const;
  // One Error summarising the findings: code, first error's location, every line.
  [[nodiscard]] Error to_error(Errc code) const;

 private:
  std::vector<Diagnostic> items_;
  std::size_t error_count_ = 0;
};

}  // namespace shype::acm
