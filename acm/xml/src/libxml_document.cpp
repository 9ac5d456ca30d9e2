#include "libxml_document.hpp"

#include <cstdarg>
#include <limits>
#include <mutex>
#include <new>
#include <optional>

#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>

#include "acm/xml/policy_reader.hpp"
#include "text.hpp"

namespace shype::acm::xml::detail {
namespace {

// NONET: never fetch anything. No NOENT (entities are not substituted), no
// DTDLOAD/DTDATTR/DTDVALID (DTDs are refused anyway, see on_doctype), no
// HUGE (keep libxml2's depth and size limits). NOBLANKS drops the
// indentation between elements, which the model never reads (the schema has
// no mixed content) and which was a fifth of the parse time of a large
// policy; whitespace inside a leaf such as <Type> </Type> is kept. NOERROR /
// NOWARNING keep libxml2's printing handlers out; errors arrive through
// on_error instead.
constexpr int kParseOptions = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOBLANKS |
                              XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

struct ParserCtxtFree {
  void operator()(xmlParserCtxt* ctxt) const noexcept { xmlFreeParserCtxt(ctxt); }
};
using ParserCtxtPtr = std::unique_ptr<xmlParserCtxt, ParserCtxtFree>;

// What the SAX hooks learn during one parse (reached via ctxt->_private).
struct ParseState {
  std::optional<std::uint32_t> doctype_line;
  bool has_error = false;
  std::string first_error;
  std::uint32_t error_line = 0;
  std::uint32_t error_column = 0;
  std::unordered_map<const xmlNode*, std::uint32_t>* big_lines = nullptr;
};

std::uint32_t to_line(long value) {
  if (value <= 0) return 0;
  if (static_cast<unsigned long>(value) > std::numeric_limits<std::uint32_t>::max()) {
    return std::numeric_limits<std::uint32_t>::max();
  }
  return static_cast<std::uint32_t>(value);
}

ParseState& state_of(void* ctx) {
  auto* ctxt = static_cast<xmlParserCtxt*>(ctx);
  return *static_cast<ParseState*>(ctxt->_private);
}

void ignore_generic_error(void* /*context*/, const char* /*format*/, ...) {}

// A DOCTYPE is refused before its internal subset is read: a policy never
// needs one, and every XML entity attack (billion laughs, external
// entities, parameter-entity fetches) starts there.
void on_doctype(void* ctx, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                const xmlChar* /*system_id*/) {
  auto* ctxt = static_cast<xmlParserCtxt*>(ctx);
  ParseState& state = state_of(ctx);
  if (!state.doctype_line) {
    state.doctype_line = ctxt->input != nullptr ? to_line(ctxt->input->line) : 0;
  }
  xmlStopParser(ctxt);
}

// Builds the tree as usual, then remembers lines libxml2 cannot store.
void on_start_element(void* ctx, const xmlChar* localname, const xmlChar* prefix,
                      const xmlChar* uri, int nb_namespaces, const xmlChar** namespaces,
                      int nb_attributes, int nb_defaulted, const xmlChar** attributes) {
  xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                        nb_defaulted, attributes);
  auto* ctxt = static_cast<xmlParserCtxt*>(ctx);
  if (ctxt->node == nullptr || ctxt->input == nullptr || ctxt->input->line < 65535) return;
  ParseState& state = state_of(ctx);
  (*state.big_lines)[ctxt->node] = to_line(ctxt->input->line);
}

// Keeps the first error; warnings (e.g. a relative namespace URI) are not
// reasons to refuse a policy.
void on_error(void* ctx, xmlError* error) {
  if (ctx == nullptr || error == nullptr || error->level < XML_ERR_ERROR) return;
  ParseState& state = state_of(ctx);
  if (state.has_error) return;
  state.has_error = true;
  state.first_error = one_line(error->message != nullptr ? error->message : "malformed XML");
  state.error_line = to_line(error->line);
  state.error_column = to_line(error->int2);
}

}  // namespace

void ensure_libxml_initialised() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

SilenceGenericErrors::SilenceGenericErrors()
    : saved_handler_(xmlGenericError), saved_context_(xmlGenericErrorContext) {
  xmlSetGenericErrorFunc(nullptr, &ignore_generic_error);
}

SilenceGenericErrors::~SilenceGenericErrors() {
  xmlSetGenericErrorFunc(saved_context_, saved_handler_);
}

std::uint32_t ParsedDocument::line_of(const xmlNode* node) const {
  if (node == nullptr) return 0;
  if (auto it = big_lines_.find(node); it != big_lines_.end()) return it->second;
  return to_line(xmlGetLineNo(node));
}

Result<ParsedDocument> parse_document(std::string_view xml_text, std::string_view file_name) {
  const SourceLocation file_only{std::string(file_name), 0, 0};
  if (xml_text.size() > kMaxPolicyBytes) {
    return make_error(Errc::limit_exceeded,
                      "policy is " + std::to_string(xml_text.size()) + " bytes; the limit is " +
                          std::to_string(kMaxPolicyBytes) + " bytes",
                      file_only);
  }
  if (xml_text.empty()) {
    return make_error(Errc::xml_malformed, "document is empty",
                      SourceLocation{file_only.file, 1, 0});
  }
  ensure_libxml_initialised();
  SilenceGenericErrors silence;

  ParsedDocument out;
  out.file_ = std::string(file_name);
  ParseState state;
  state.big_lines = &out.big_lines_;

  // kMaxPolicyBytes fits in int, which is what libxml2 takes.
  static_assert(kMaxPolicyBytes <= static_cast<std::size_t>(std::numeric_limits<int>::max()));
  ParserCtxtPtr ctxt(xmlCreateMemoryParserCtxt(xml_text.data(), static_cast<int>(xml_text.size())));
  if (!ctxt) throw std::bad_alloc();
  ctxt->_private = &state;
  ctxt->sax->internalSubset = &on_doctype;
  ctxt->sax->startElementNs = &on_start_element;
  ctxt->sax->serror = &on_error;
  xmlCtxtUseOptions(ctxt.get(), kParseOptions);

  xmlParseDocument(ctxt.get());
  XmlDocPtr doc(ctxt->myDoc);
  ctxt->myDoc = nullptr;

  if (state.doctype_line) {
    return make_error(Errc::xml_malformed,
                      "DOCTYPE is not allowed in a security policy (DTDs and entity "
                      "declarations are refused)",
                      SourceLocation{out.file_, *state.doctype_line, 0});
  }
  if (!doc || ctxt->wellFormed == 0 || ctxt->nsWellFormed == 0 || state.has_error) {
    std::string reason = state.has_error ? state.first_error : "malformed XML";
    if (reason.empty()) reason = "malformed XML";
    return make_error(Errc::xml_malformed, std::move(reason),
                      SourceLocation{out.file_, state.error_line, state.error_column});
  }
  // XML 1.1 changes line ends and allowed characters; the schema validator
  // would read such a file differently, so it is refused.
  if (view(doc->version) != "1.0") {
    return make_error(
        Errc::xml_malformed,
        "XML version '" + one_line(view(doc->version)) + "' is not supported; policies are XML 1.0",
        SourceLocation{out.file_, 1, 0});
  }
  out.doc_ = std::move(doc);
  return out;
}

}  // namespace shype::acm::xml::detail
