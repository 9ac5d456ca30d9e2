#include "acm/error.hpp"

#include "acm/diagnostics.hpp"

namespace shype::acm {

std::string SourceLocation::to_string() const {
  if (file.empty()) return line ? "line " + std::to_string(line) : std::string{};
  if (line == 0) return file;
  return file + ":" + std::to_string(line);
}

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::io_error:
      return "io_error";
    case Errc::xml_malformed:
      return "xml_malformed";
    case Errc::schema_violation:
      return "schema_violation";
    case Errc::semantic_error:
      return "semantic_error";
    case Errc::malformed_binary:
      return "malformed_binary";
    case Errc::unsupported:
      return "unsupported";
    case Errc::limit_exceeded:
      return "limit_exceeded";
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::update_rejected:
      return "update_rejected";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string where_text = where.to_string();
  if (where_text.empty()) return message;
  return where_text + ": " + message;
}

std::string Diagnostic::to_string() const {
  std::string out = where.to_string();
  if (!out.empty()) out += ": ";
  out += severity == Severity::error ? "error: " : "warning: ";
  out += message;
  return out;
}

void Diagnostics::error(SourceLocation where, std::string message) {
  add(Diagnostic{Severity::error, std::move(where), std::move(message)});
}

void Diagnostics::warning(SourceLocation where, std::string message) {
  add(Diagnostic{Severity::warning, std::move(where), std::move(message)});
}

void Diagnostics::add(Diagnostic d) {
  if (d.severity == Severity::error) ++error_count_;
  items_.push_back(std::move(d));
}

void Diagnostics::append(const Diagnostics& other) {
  for (const auto& d : other.items())
    add(d);
}

std::string Diagnostics::to_string() const {
  std::string out;
  for (const auto& d : items_) {
    out += d.to_string();
    out += '\n';
  }
  return out;
}

Error Diagnostics::to_error(Errc code) const {
  // Each line already names its own location, so the Error carries none.
  std::string message;
  for (const auto& d : items_) {
    if (d.severity != Severity::error) continue;
    if (!message.empty()) message += '\n';
    message += d.to_string();
  }
  return Error{code, std::move(message), {}};
}

}  // namespace shype::acm
