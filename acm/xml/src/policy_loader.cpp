#include "acm/xml/policy_loader.hpp"

#include <algorithm>
#include <cerrno>
#include <future>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acm/semantic_check.hpp"
#include "acm/xml/policy_reader.hpp"
#include "libxml_document.hpp"
#include "schema_findings.hpp"

namespace shype::acm::xml {
namespace {

// Orders findings by line (a file is read top to bottom); findings without
// a line come first, ties keep the order in which they were found.
Diagnostics sorted(std::vector<Diagnostic> items) {
  std::stable_sort(items.begin(), items.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.where.line < b.where.line;
  });
  Diagnostics out;
  for (auto& d : items)
    out.add(std::move(d));
  return out;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

Error io_error(const std::filesystem::path& path, const char* what, int error_number) {
  return Error{Errc::io_error,
               std::string(what) + " " + path.string() + ": " +
                   std::error_code(error_number, std::generic_category()).message(),
               {}};
}

Result<std::string> read_policy_file(const std::filesystem::path& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return tl::unexpected(io_error(path, "cannot open", errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return tl::unexpected(io_error(path, "cannot stat", errno));
  if (!S_ISREG(info.st_mode)) {
    return make_error(Errc::io_error, "cannot read " + path.string() + ": not a regular file");
  }
  if (info.st_size < 0 || static_cast<std::uintmax_t>(info.st_size) > kMaxPolicyBytes) {
    return make_error(Errc::limit_exceeded,
                      "policy file " + path.string() + " is " + std::to_string(info.st_size) +
                          " bytes; the limit is " + std::to_string(kMaxPolicyBytes) + " bytes");
  }
  std::string text(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t used = 0;
  // Read to EOF rather than trusting st_size: the file may change while it
  // is read. One byte past the limit is enough to know it is too big.
  while (true) {
    if (used == text.size()) {
      if (text.size() > kMaxPolicyBytes) break;
      text.resize(std::min(kMaxPolicyBytes + 1, std::max<std::size_t>(4096, text.size() * 2)));
    }
    const ssize_t got = ::read(fd.get(), text.data() + used, text.size() - used);
    if (got < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(io_error(path, "cannot read", errno));
    }
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
  }
  if (used > kMaxPolicyBytes) {
    return make_error(Errc::limit_exceeded, "policy file " + path.string() +
                                                " is larger than the limit of " +
                                                std::to_string(kMaxPolicyBytes) + " bytes");
  }
  text.resize(used);
  return text;
}

}  // namespace

Result<LoadedPolicy> load_policy_text(std::string xml_text, std::string file_name) {
  auto document = detail::parse_document(xml_text, file_name);
  if (!document) return tl::unexpected(std::move(document.error()));

  // Schema validation (Xerces) and model building plus the semantic checks
  // (libxml2's tree) read the same text independently; run them side by
  // side. Only well-formed text without a DOCTYPE gets here. The future is
  // always joined before xml_text can go away: get() below, or the future's
  // destructor on the early return.
  std::future<std::vector<detail::SchemaFinding>> validation = std::async(
      std::launch::async,
      [&xml_text, &file_name] { return detail::validate_schema_findings(xml_text, file_name); });

  Diagnostics model_problems;
  auto model = detail::build_model(*document, model_problems);
  // A root that is not a policy root (wrong name or namespace) makes the
  // validator complain about every element; the one finding that matters
  // is the root's.
  if (!model) return tl::unexpected(std::move(model.error()));
  const Diagnostics checks = check_policy(*model);

  std::vector<detail::SchemaFinding> schema = validation.get();
  const bool schema_failed = std::any_of(schema.begin(), schema.end(), [](const auto& f) {
    return f.diagnostic.severity == Severity::error;
  });

  std::vector<Diagnostic> errors;
  Diagnostics warnings;
  for (const auto& d : checks.items()) {
    if (d.severity == Severity::error) {
      errors.push_back(d);
    } else {
      warnings.add(d);
    }
  }
  // The schema reports everything the model builder could not represent
  // (bad versions, unknown priorities) with its own message; only if the
  // two ever disagree do the builder's findings show.
  if (!schema_failed) {
    for (const auto& d : model_problems.items())
      errors.push_back(d);
  }
  for (auto& f : schema) {
    if (f.diagnostic.severity == Severity::warning) {
      warnings.add(std::move(f.diagnostic));
      continue;
    }
    // check_policy names the exact line of every identity-constraint
    // violation; the schema only names the end of the document.
    if (f.identity_constraint && checks.has_errors()) continue;
    errors.push_back(std::move(f.diagnostic));
  }

  if (!errors.empty()) {
    const Errc code = schema_failed ? Errc::schema_violation : Errc::semantic_error;
    return tl::unexpected(sorted(std::move(errors)).to_error(code));
  }
  return LoadedPolicy{std::move(*model), std::move(xml_text), std::move(warnings)};
}

Result<LoadedPolicy> load_policy_file(const std::filesystem::path& path) {
  auto text = read_policy_file(path);
  if (!text) return tl::unexpected(std::move(text.error()));
  return load_policy_text(std::move(*text), path.string());
}

}  // namespace shype::acm::xml
