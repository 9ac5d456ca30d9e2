#include "acm/xml/schema_validator.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <xercesc/framework/MemBufInputSource.hpp>
#include <xercesc/framework/XMLGrammarPoolImpl.hpp>
#include <xercesc/framework/XMLValidityCodes.hpp>
#include <xercesc/internal/XMLScanner.hpp>
#include <xercesc/parsers/SAXParser.hpp>
#include <xercesc/sax/ErrorHandler.hpp>
#include <xercesc/sax/SAXException.hpp>
#include <xercesc/sax/SAXParseException.hpp>
#include <xercesc/util/OutOfMemoryException.hpp>
#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/TransService.hpp>
#include <xercesc/util/XMLException.hpp>
#include <xercesc/util/XMLString.hpp>
#include <xercesc/util/XMLUni.hpp>
#include <xercesc/validators/schema/ComplexTypeInfo.hpp>
#include <xercesc/validators/schema/SchemaElementDecl.hpp>
#include <xercesc/validators/schema/SchemaGrammar.hpp>

#include "acm/xml/policy_reader.hpp"
#include "schema_findings.hpp"
#include "text.hpp"

namespace shype::embedded {
extern const std::string_view kSecurityPolicySchema;
}  // namespace shype::embedded

namespace shype::acm::xml {
namespace detail {
namespace {

namespace xc = XERCES_CPP_NAMESPACE;

// Enough to fix a broken file in one go; a hostile one cannot grow the
// report without bound.
constexpr std::size_t kMaxReportedErrors = 1000;

// The system id Xerces gives the in-memory document and grammar. It is
// never resolved (nothing is loaded from outside) and never shown: findings
// carry the caller's file name.
constexpr const char* kDocumentId = "policy.xml";
constexpr const char* kSchemaId = "security_policy.xsd";

std::string to_utf8(const XMLCh* text) {
  if (text == nullptr) return {};
  try {
    xc::TranscodeToStr utf8(text, "UTF-8");
    // SAFETY: XMLByte is unsigned char, which may alias char; str() holds
    // length() bytes of UTF-8.
    return std::string(reinterpret_cast<const char*>(utf8.str()), utf8.length());
  } catch (const xc::XMLException&) {
    // Unpaired surrogates cannot be transcoded; keep what is ASCII.
    std::string ascii;
    for (const XMLCh* p = text; *p != 0; ++p)
      ascii += *p < 0x80 ? static_cast<char>(*p) : '?';
    return ascii;
  }
}

std::uint32_t clamp_location(XMLFileLoc value) {
  return value > std::numeric_limits<std::uint32_t>::max()
             ? std::numeric_limits<std::uint32_t>::max()
             : static_cast<std::uint32_t>(value);
}

bool is_identity_constraint(unsigned int code, const XMLCh* domain) {
  if (domain == nullptr || !xc::XMLString::equals(domain, xc::XMLUni::fgValidityDomain)) {
    return false;
  }
  switch (code) {
    case xc::XMLValid::IC_AbsentKeyValue:
    case xc::XMLValid::IC_KeyNotEnoughValues:
    case xc::XMLValid::IC_DuplicateUnique:
    case xc::XMLValid::IC_DuplicateKey:
    case xc::XMLValid::IC_KeyNotFound:
      return true;
    default:
      return false;
  }
}

// A SAX parser (validation needs no tree; building Xerces' DOM doubled the
// time of a large policy) that collects every error with its code instead
// of passing it to an ErrorHandler (which would lose the code).
class CollectingParser final : public xc::SAXParser {
 public:
  CollectingParser(xc::XMLGrammarPool* pool, std::string file_name)
      : xc::SAXParser(nullptr, xc::XMLPlatformUtils::fgMemoryManager, pool),
        file_name_(std::move(file_name)),
        handler_(*this) {
    setValidationScheme(Val_Always);
    setDoNamespaces(true);
    setDoSchema(true);
    setValidationSchemaFullChecking(true);
    setIdentityConstraintChecking(true);
    setValidationConstraintFatal(false);
    setExitOnFirstFatalError(true);
    // Only the embedded grammar: no schemaLocation hints, no external DTD,
    // no default resolution of any URI (so no file or network access).
    useCachedGrammarInParse(true);
    setLoadSchema(false);
    setLoadExternalDTD(false);
    setSkipDTDValidation(true);
    setDisableDefaultEntityResolution(true);
    // A DOCTYPE is a fatal error, so no entity is ever declared or expanded.
    // SAFETY: SAXParser owns its scanner, a non-const heap object, and only
    // offers a const accessor; setting this option through it is what the
    // DOM parser's non-const accessor did.
    const_cast<xc::XMLScanner&>(getScanner()).setDisallowDTD(true);
    // An installed ErrorHandler is also told of errors the scanner reports
    // outside error() below.
    setErrorHandler(&handler_);
  }

  // Every error Xerces' scanner, validator and schema loader report.
  void error(const unsigned int code, const XMLCh* const domain,
             const xc::XMLErrorReporter::ErrTypes type, const XMLCh* const text,
             const XMLCh* const /*system_id*/, const XMLCh* const /*public_id*/,
             const XMLFileLoc line, const XMLFileLoc column) override {
    record(type == xc::XMLErrorReporter::ErrType_Warning, is_identity_constraint(code, domain),
           text, line, column);
  }

  void resetErrors() override {}

  void record(bool is_warning, bool identity_constraint, const XMLCh* text, XMLFileLoc line,
              XMLFileLoc column) {
    if (!is_warning && ++error_count_ > kMaxReportedErrors) return;
    SchemaFinding finding;
    finding.diagnostic.severity = is_warning ? Severity::warning : Severity::error;
    finding.diagnostic.where =
        SourceLocation{file_name_, clamp_location(line), clamp_location(column)};
    finding.diagnostic.message = one_line(to_utf8(text));
    finding.identity_constraint = identity_constraint;
    findings_.push_back(std::move(finding));
  }

  // Moves the findings out, summarising any beyond the cap.
  std::vector<SchemaFinding> take_findings() {
    if (error_count_ > kMaxReportedErrors) {
      Diagnostic summary{
          Severity::error, SourceLocation{file_name_, 0, 0},
          std::to_string(error_count_ - kMaxReportedErrors) + " further schema errors not shown"};
      findings_.push_back(SchemaFinding{std::move(summary), false});
    }
    return std::move(findings_);
  }

  [[nodiscard]] bool has_errors() const noexcept { return error_count_ > 0; }

 private:
  // Should a Xerces path ever call the handler directly, the finding is
  // still kept; it has no code, so it is never taken for an identity
  // constraint (and never dropped).
  class Handler final : public xc::ErrorHandler {
   public:
    explicit Handler(CollectingParser& parser) : parser_(parser) {}
    void warning(const xc::SAXParseException& e) override { add(true, e); }
    void error(const xc::SAXParseException& e) override { add(false, e); }
    void fatalError(const xc::SAXParseException& e) override { add(false, e); }
    void resetErrors() override {}

   private:
    void add(bool is_warning, const xc::SAXParseException& e) {
      parser_.record(is_warning, false, e.getMessage(), e.getLineNumber(), e.getColumnNumber());
    }
    CollectingParser& parser_;
  };

  std::string file_name_;
  Handler handler_;
  std::vector<SchemaFinding> findings_;
  std::size_t error_count_ = 0;
};

void initialise_xerces_once(std::string& failure) {
  static std::once_flag once;
  static std::string init_failure;
  // Never terminated: other code in the process may use Xerces too, and
  // XMLPlatformUtils::Terminate while anything still uses it is fatal.
  std::call_once(once, [] {
    try {
      xc::XMLPlatformUtils::Initialize();
    } catch (const xc::XMLException& e) {
      init_failure = "cannot initialise Xerces-C++: " + one_line(to_utf8(e.getMessage()));
    }
  });
  failure = init_failure;
}

struct GrammarPoolDelete {
  void operator()(xc::XMLGrammarPool* pool) const noexcept { delete pool; }
};
using GrammarPoolPtr = std::unique_ptr<xc::XMLGrammarPool, GrammarPoolDelete>;

// Xerces formats an element's content model (for "element X is not allowed
// here; expected (A,B)" messages) on first use and caches the text in the
// shared grammar without a lock: two validations reporting their first such
// error at once both store a copy, and one copy leaks. Formatting every
// model here, while only the loading thread can see the grammar, leaves
// nothing for concurrent validations to write.
void prime_lazy_caches(xc::XMLGrammarPool& pool) {
  xc::RefHashTableOfEnumerator<xc::Grammar> grammars = pool.getGrammarEnumerator();
  while (grammars.hasMoreElements()) {
    xc::Grammar& grammar = grammars.nextElement();
    if (grammar.getGrammarType() != xc::Grammar::SchemaGrammarType) continue;
    auto& schema = static_cast<xc::SchemaGrammar&>(grammar);
    xc::RefHash3KeysIdPoolEnumerator<xc::SchemaElementDecl> elements = schema.getElemEnumerator();
    while (elements.hasMoreElements()) {
      static_cast<void>(elements.nextElement().getFormattedContentModel());
    }
    if (xc::RefHashTableOf<xc::ComplexTypeInfo>* types = schema.getComplexTypeRegistry()) {
      xc::RefHashTableOfEnumerator<xc::ComplexTypeInfo> it(types, false);
      while (it.hasMoreElements()) {
        static_cast<void>(it.nextElement().getFormattedContentModel());
      }
    }
  }
}

// Compiles the embedded schema into a locked (read-only, thread-safe) pool.
GrammarPoolPtr load_grammar(std::string& failure) {
  try {
    GrammarPoolPtr pool(new xc::XMLGrammarPoolImpl(xc::XMLPlatformUtils::fgMemoryManager));
    std::vector<SchemaFinding> findings;
    {
      CollectingParser loader(pool.get(), kSchemaId);
      const std::string_view xsd = shype::embedded::kSecurityPolicySchema;
      // SAFETY: XMLByte is unsigned char, which may alias char; Xerces only
      // reads the xsd.size() bytes of the embedded schema, which is static.
      xc::MemBufInputSource source(reinterpret_cast<const XMLByte*>(xsd.data()), xsd.size(),
                                   kSchemaId);
      const xc::Grammar* grammar = loader.loadGrammar(source, xc::Grammar::SchemaGrammarType, true);
      const bool failed = grammar == nullptr || loader.has_errors();
      findings = loader.take_findings();
      if (failed) {
        failure = "the embedded security_policy.xsd does not load";
        for (const auto& f : findings) {
          if (f.diagnostic.severity == Severity::error) {
            failure += ": " + f.diagnostic.to_string();
            break;
          }
        }
        return nullptr;
      }
    }
    prime_lazy_caches(*pool);
    pool->lockPool();
    return pool;
  } catch (const xc::XMLException& e) {
    failure = "cannot load the embedded schema: " + one_line(to_utf8(e.getMessage()));
  } catch (const xc::OutOfMemoryException&) {
    failure = "cannot load the embedded schema: out of memory";
  }
  return nullptr;
}

// The compiled grammar, shared read-only by concurrent validations.
//
// A locked Xerces grammar pool still interns every namespace URI that a
// document declares into its shared string pool and never frees it, so a
// long-lived process validating many documents would grow without bound.
// The pool is therefore replaced after kValidationsPerPool validations; a
// validation holds a lease (shared_ptr) on the pool it started with, so an
// old pool goes away when its last validation finishes. Recompiling the
// grammar costs about a millisecond.
class GrammarCache {
 public:
  struct Lease {
    std::shared_ptr<xc::XMLGrammarPool> pool;  // null if validation is impossible
    std::string failure;                       // why, if it is
  };

  Lease acquire() {
    std::string failure;
    initialise_xerces_once(failure);
    if (!failure.empty()) return Lease{nullptr, failure};
    std::lock_guard<std::mutex> lock(mutex_);
    if (!current_ || uses_ >= kValidationsPerPool) {
      // A failure is not remembered: it may be a passing lack of memory.
      GrammarPoolPtr pool = load_grammar(failure);
      if (!pool) return Lease{nullptr, failure};
      current_ = std::shared_ptr<xc::XMLGrammarPool>(std::move(pool));
      uses_ = 0;
    }
    ++uses_;
    return Lease{current_, {}};
  }

 private:
  static constexpr std::size_t kValidationsPerPool = 1024;
  std::mutex mutex_;
  std::shared_ptr<xc::XMLGrammarPool> current_;
  std::size_t uses_ = 0;
};

GrammarCache& grammar_cache() {
  // Never destroyed: a validation on a detached thread may outlive main().
  static auto* cache = new GrammarCache;
  return *cache;
}

std::vector<SchemaFinding> single_error(std::string_view file_name, std::uint32_t line,
                                        std::string message) {
  std::vector<SchemaFinding> out;
  out.push_back(
      SchemaFinding{Diagnostic{Severity::error, SourceLocation{std::string(file_name), line, 0},
                               std::move(message)},
                    false});
  return out;
}

}  // namespace

std::vector<SchemaFinding> validate_schema_findings(std::string_view xml_text,
                                                    std::string_view file_name) {
  if (xml_text.size() > kMaxPolicyBytes) {
    return single_error(file_name, 0,
                        "policy is " + std::to_string(xml_text.size()) + " bytes; the limit is " +
                            std::to_string(kMaxPolicyBytes) + " bytes");
  }
  // Declared before the parser, so the pool outlives it.
  const GrammarCache::Lease lease = grammar_cache().acquire();
  if (!lease.pool) return single_error(file_name, 0, lease.failure);

  CollectingParser parser(lease.pool.get(), std::string(file_name));
  // SAFETY: XMLByte is unsigned char, which may alias char; Xerces only
  // reads xml_text.size() bytes, and xml_text outlives the parse.
  xc::MemBufInputSource source(reinterpret_cast<const XMLByte*>(xml_text.data()), xml_text.size(),
                               kDocumentId);
  source.setCopyBufToStream(false);
  try {
    parser.parse(source);
  } catch (const xc::OutOfMemoryException&) {
    parser.record(false, false, u"out of memory", 0, 0);
  } catch (const xc::XMLException& e) {
    parser.record(false, false, e.getMessage(), 0, 0);
  } catch (const xc::SAXException& e) {
    parser.record(false, false, e.getMessage(), 0, 0);
  }
  return parser.take_findings();
}

}  // namespace detail

Diagnostics validate_schema(std::string_view xml_text, std::string_view file_name) {
  Diagnostics out;
  for (auto& finding : detail::validate_schema_findings(xml_text, file_name)) {
    out.add(std::move(finding.diagnostic));
  }
  return out;
}

}  // namespace shype::acm::xml
