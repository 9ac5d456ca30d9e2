// The manager's attestation methods (manager.hpp): the local CA, manufacturing
// of new instances at their first start, EK certificates, the platform AK and
// deep quotes. The TPM work itself is in attest.cpp.
#include <cstdlib>
#include <system_error>

#include "acm/file_io.hpp"
#include "vtpm/attest.hpp"
#include "vtpm/manager.hpp"

namespace shype::vtpm {

namespace fs = std::filesystem;
using rpc::ErrorCode;
using rpc::Json;

namespace manager_attest_detail {

tl::unexpected<rpc::RpcError> attest_fail(const std::string& message,
                                          ErrorCode code = ErrorCode::failed) {
  return rpc::fail(message, nullptr, code);
}

tl::unexpected<rpc::RpcError> attest_fail_from(const acm::Error& e) {
  return attest_fail(e.message, e.code == acm::Errc::invalid_argument ||
                                        e.code == acm::Errc::not_found
                                    ? ErrorCode::invalid_params
                                    : ErrorCode::failed);
}

// A PCR list parameter: a string ("0-7,16") or an array of numbers.
acm::Result<std::vector<std::uint32_t>> pcr_param(const Json& params, const char* name,
                                                  std::string_view fallback) {
  if (!params.contains(name) || params[name].is_null()) {
    if (fallback.empty()) return std::vector<std::uint32_t>{};
    return parse_pcr_list(fallback);
  }
  const Json& p = params[name];
  if (p.is_string()) {
    if (p.get_ref<const std::string&>().empty()) return std::vector<std::uint32_t>{};
    return parse_pcr_list(p.get_ref<const std::string&>());
  }
  if (p.is_array()) {
    std::string text;
    for (const auto& i : p) {
      if (!i.is_number_unsigned()) {
        return acm::make_error(acm::Errc::invalid_argument,
                               "parameter '" + std::string(name) + "' must list PCR indices");
      }
      text += (text.empty() ? "" : ",") + std::to_string(i.get<std::uint64_t>());
    }
    if (text.empty()) return std::vector<std::uint32_t>{};
    return parse_pcr_list(text);
  }
  return acm::make_error(acm::Errc::invalid_argument,
                         "parameter '" + std::string(name) + "' must be a PCR list like \"0-7\"");
}

}  // namespace manager_attest_detail

using namespace manager_attest_detail;

acm::Status Manager::open_ca() {
  auto ca = LocalCa::open_or_create(layout_.ca_dir());
  if (!ca) return tl::unexpected(ca.error());
  ca_ = std::move(*ca);
  return {};
}

bool Manager::needs_manufacturing(std::uint32_t n) const {
  // A fresh instance: no certificate yet and nothing saved. An instance
  // saved before manufacturing existed keeps its state as it is.
  std::error_code ec;
  if (fs::exists(layout_.ek_cert(n), ec)) return false;
  // (saved/ also holds the instance's wrapped key from its creation on, so
  // only the TPM's own permanent state counts.)
  return !fs::exists(layout_.saved_dir(n) / "tpm2-00.permall", ec);
}

acm::Result<std::vector<std::string>> Manager::pcr_banks_parameter(const Json& params) {
  if (!params.is_object() || !params.contains("pcr_banks") || params["pcr_banks"].is_null()) {
    return std::vector<std::string>{"sha256"};
  }
  const Json& banks = params["pcr_banks"];
  std::string text;
  if (banks.is_string()) {
    text = banks.get<std::string>();
  } else if (banks.is_array()) {
    for (const auto& bank : banks) {
      if (!bank.is_string()) {
        return acm::make_error(acm::Errc::invalid_argument,
                               "parameter 'pcr_banks' must list bank names");
      }
      text += (text.empty() ? "" : ",") + bank.get<std::string>();
    }
  } else {
    return acm::make_error(acm::Errc::invalid_argument,
                           "parameter 'pcr_banks' must be a list like \"sha1,sha256\"");
  }
  return parse_pcr_banks(text);
}

acm::Status Manager::manufacture(std::uint32_t n) {
  const Binding* b = registry_.find(n);
  if (b == nullptr || !ca_) {
    return acm::make_error(acm::Errc::not_found, "no vTPM instance " + std::to_string(n));
  }
  const auto discard = [&] {
    std::error_code ec;
    fs::remove(layout_.ek_cert(n), ec);
    fs::remove(layout_.ek_public(n), ec);
    for (const auto& entry : fs::directory_iterator(layout_.saved_dir(n), ec))
      fs::remove(entry.path(), ec);
  };
  auto made = manufacture_instance(layout_.tcti(n), layout_.ctrl_socket(n), b->pcr_banks, *ca_);
  if (!made) {
    return acm::make_error(made.error().code, "manufacturing vTPM instance " + std::to_string(n) +
                                                  ": " + made.error().message);
  }
  auto pem = certificate_der_to_pem(made->ek_cert_der);
  if (!pem) return tl::unexpected(pem.error());
  // The TPM's state first (its NV holds the certificate), then the manager's
  // copies, whose presence marks the instance as manufactured.
  if (auto saved = save(n); !saved) {
    discard();
    return acm::make_error(acm::Errc::io_error, "manufacturing vTPM instance " +
                                                    std::to_string(n) + ": " +
                                                    saved.error().message);
  }
  auto kept = acm::write_file_atomic(layout_.ek_public(n), made->ek_public, 0600);
  if (kept) kept = acm::write_file_atomic(layout_.ek_cert(n), *pem, 0644);
  if (!kept) {
    discard();
    return kept;
  }
  std::string banks;
  for (const auto& bank : made->pcr_banks)
    banks += (banks.empty() ? "" : ",") + bank;
  log_("instance " + std::to_string(n) + " manufactured: EK certificate in NV 0x01c00002, PCR banks " +
       banks);
  return {};
}

bool Manager::is_attest_method(std::string_view method) {
  return method == "vtpm.ek_cert" || method == "vtpm.ca_cert" || method == "vtpm.platform_ak" ||
         method == "vtpm.deepquote";
}

rpc::Result<Json> Manager::attest_call(std::string_view method, const Json& params) {
  if (!ca_) return attest_fail("the manager's local CA is not open");
  if (method == "vtpm.ca_cert") return Json{{"pem", ca_->certificate_pem()}};
  if (method == "vtpm.platform_ak") {
    auto pub = platform_ak_public(platform_tcti_);
    if (!pub) return attest_fail("platform AK: " + pub.error().message);
    auto pem = tpm_public_to_pem(*pub);
    if (!pem) return attest_fail_from(pem.error());
    return Json{{"pem", *pem}, {"public", to_hex(*pub)}, {"tcti", platform_tcti_}};
  }
  auto b = reference(params);
  if (!b) return tl::unexpected(b.error());
  const std::string who =
      "vTPM instance " + std::to_string(b->instance) + " (" + b->domain_name + ")";
  std::error_code ec;
  if (!fs::exists(layout_.ek_cert(b->instance), ec)) {
    return attest_fail(who + " has no EK certificate (it is manufactured at its first start; "
                             "an instance saved before that has none)");
  }
  auto pem = acm::read_text_file(layout_.ek_cert(b->instance));
  if (!pem) return attest_fail_from(pem.error());
  if (method == "vtpm.ek_cert") {
    auto der = certificate_pem_to_der(*pem);
    if (!der) return attest_fail(who + ": " + layout_.ek_cert(b->instance).string() + ": " + der.error().message);
    return Json{{"instance", b->instance}, {"uuid", b->domain_uuid}, {"pem", *pem}, {"der", to_hex(*der)}};
  }
  // vtpm.deepquote
  if (running_.count(b->instance) == 0) {
    return attest_fail(who + " is not running: start it to take a deep quote",
                       ErrorCode::invalid_params);
  }
  if (!params.contains("nonce") || !params["nonce"].is_string()) {
    return attest_fail("missing parameter 'nonce' (the verifier's nonce, 1-64 bytes in hex)",
                       ErrorCode::invalid_params);
  }
  auto nonce = from_hex(params["nonce"].get_ref<const std::string&>());
  if (!nonce || nonce->empty() || nonce->size() > kMaxNonceBytes) {
    return attest_fail("parameter 'nonce' must be 1-64 bytes in hex", ErrorCode::invalid_params);
  }
  auto vtpm_pcrs = pcr_param(params, "pcrs", "");
  if (!vtpm_pcrs) return attest_fail_from(vtpm_pcrs.error());
  const char* env = std::getenv("SHYPE_VTPM_QUOTE_PCRS");
  auto platform_pcrs =
      pcr_param(params, "platform_pcrs", env != nullptr && *env != '\0' ? env : "0-7");
  if (!platform_pcrs) return attest_fail_from(platform_pcrs.error());
  if (platform_pcrs->empty()) {
    return attest_fail("parameter 'platform_pcrs' must select at least one PCR",
                       ErrorCode::invalid_params);
  }
  DeepQuoteRequest request{layout_.tcti(b->instance), platform_tcti_, std::move(*nonce),
                           b->domain_uuid, b->instance, std::move(*pem), std::move(*vtpm_pcrs),
                           std::move(*platform_pcrs)};
  auto quote = make_deep_quote(request);
  if (!quote) return attest_fail("deep quote of " + who + ": " + quote.error().message);
  return deep_quote_to_json(*quote);
}

}  // namespace shype::vtpm
