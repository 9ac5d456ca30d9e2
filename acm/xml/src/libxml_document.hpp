// libxml2 plumbing shared by the reader, the loader and the writer: one-time
// initialisation, owners for libxml2 objects, the hardened parse and a view
// of libxml2 strings. Internal to shype_acm_xml.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "acm/diagnostics.hpp"
#include "acm/error.hpp"
#include "acm/policy_model.hpp"

namespace shype::acm::xml::detail {

// xmlInitParser exactly once per process (it is not safe to race).
void ensure_libxml_initialised();

struct XmlDocFree {
  void operator()(xmlDoc* doc) const noexcept { xmlFreeDoc(doc); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;

struct XmlCharFree {
  void operator()(xmlChar* text) const noexcept { xmlFree(text); }
};
using XmlCharPtr = std::unique_ptr<xmlChar, XmlCharFree>;

// libxml2 strings are NUL-terminated UTF-8 in unsigned char.
[[nodiscard]] inline std::string_view view(const xmlChar* text) {
  if (text == nullptr) return {};
  // SAFETY: xmlChar is unsigned char, which may alias char; libxml2 strings
  // are NUL-terminated, so the length is found within the allocation.
  return std::string_view(reinterpret_cast<const char*>(text));
}

// A C string as the xmlChar* libxml2 expects.
[[nodiscard]] inline const xmlChar* xml_chars(const char* text) {
  // SAFETY: char and unsigned char have the same size and representation;
  // libxml2 only reads the NUL-terminated string.
  return reinterpret_cast<const xmlChar*>(text);
}

// While alive, libxml2's generic error channel of this thread (which prints
// to stderr) is silenced; restored afterwards. The library never prints.
class SilenceGenericErrors {
 public:
  SilenceGenericErrors();
  ~SilenceGenericErrors();
  SilenceGenericErrors(const SilenceGenericErrors&) = delete;
  SilenceGenericErrors& operator=(const SilenceGenericErrors&) = delete;

 private:
  xmlGenericErrorFunc saved_handler_;
  void* saved_context_;
};

// A parsed policy document. libxml2 stores element lines in 16 bits (65535
// means "or more"), so the parse records the exact line of every later
// element here.
class ParsedDocument {
 public:
  [[nodiscard]] const xmlDoc* doc() const noexcept { return doc_.get(); }
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] std::uint32_t line_of(const xmlNode* node) const;
  [[nodiscard]] SourceLocation at(const xmlNode* node) const { return {file_, line_of(node), 0}; }

 private:
  friend Result<ParsedDocument> parse_document(std::string_view, std::string_view);
  XmlDocPtr doc_;
  std::string file_;
  std::unordered_map<const xmlNode*, std::uint32_t> big_lines_;
};

// Well-formedness: see parse_policy() in policy_reader.hpp for the rules and
// error codes (limit_exceeded, xml_malformed).
[[nodiscard]] Result<ParsedDocument> parse_document(std::string_view xml_text,
                                                    std::string_view file_name);

// The model of a parsed document. Fails (Errc::schema_violation) only when
// the root is not a policy; values the model cannot hold (bad versions,
// unknown priority) are added to `problems` and left at their defaults.
[[nodiscard]] Result<PolicyModel> build_model(const ParsedDocument& document,
                                              Diagnostics& problems);

}  // namespace shype::acm::xml::detail
