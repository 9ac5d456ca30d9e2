#include "vtpm/attest.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include <tss2/tss2_mu.h>

#include "vtpm/esys.hpp"
#include "vtpm/swtpm_ctrl.hpp"

namespace shype::vtpm {

using acm::Errc;
using acm::make_error;

namespace attest_detail {

constexpr auto kRestartTimeout = std::chrono::milliseconds(3000);
// The largest NV_Write chunk (below every TPM's TPM_PT_NV_BUFFER_MAX).
constexpr std::size_t kNvChunk = 512;

struct BankName {
  const char* name;
  TPMI_ALG_HASH alg;
};
constexpr BankName kBanks[] = {{"sha1", TPM2_ALG_SHA1},
                               {"sha256", TPM2_ALG_SHA256},
                               {"sha384", TPM2_ALG_SHA384},
                               {"sha512", TPM2_ALG_SHA512}};

const char* bank_name(TPMI_ALG_HASH alg) {
  for (const auto& b : kBanks)
    if (b.alg == alg) return b.name;
  return nullptr;
}

// Frees what ESAPI allocated for an output parameter.
template <typename T>
struct EsysOut {
  T* p = nullptr;
  EsysOut() = default;
  EsysOut(const EsysOut&) = delete;
  EsysOut& operator=(const EsysOut&) = delete;
  ~EsysOut() { Esys_Free(p); }
  T** out() { return &p; }
  T* operator->() const { return p; }
};

// A transient object flushed when it goes out of scope.
class Transient {
 public:
  explicit Transient(ESYS_CONTEXT* esys) : esys_(esys) {}
  Transient(const Transient&) = delete;
  Transient& operator=(const Transient&) = delete;
  ~Transient() {
    if (handle_ != ESYS_TR_NONE) Esys_FlushContext(esys_, handle_);
  }
  ESYS_TR* out() { return &handle_; }
  [[nodiscard]] ESYS_TR get() const { return handle_; }

 private:
  ESYS_CONTEXT* esys_;
  ESYS_TR handle_ = ESYS_TR_NONE;
};

acm::Result<Bytes> marshal_public(const TPM2B_PUBLIC& pub) {
  Bytes out(sizeof(TPM2B_PUBLIC));
  size_t offset = 0;
  if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, out.data(), out.size(), &offset) != TSS2_RC_SUCCESS) {
    return make_error(Errc::io_error, "cannot marshal a TPM2B_PUBLIC");
  }
  out.resize(offset);
  return out;
}

acm::Status startup(const EsysContext& ctx) {
  const TSS2_RC rc = Esys_Startup(ctx.get(), TPM2_SU_CLEAR);
  // TPM_RC_INITIALIZE: already started.
  if (rc != TSS2_RC_SUCCESS && (rc & 0xfff) != TPM2_RC_INITIALIZE) return ctx.fail("TPM2_Startup", rc);
  return {};
}

acm::Result<TPML_PCR_SELECTION> pcr_allocation(const EsysContext& ctx) {
  EsysOut<TPMS_CAPABILITY_DATA> caps;
  TPMI_YES_NO more = TPM2_NO;
  if (const TSS2_RC rc = Esys_GetCapability(ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                            TPM2_CAP_PCRS, 0, 1, &more, caps.out());
      rc != TSS2_RC_SUCCESS) {
    return ctx.fail("GetCapability(PCRS)", rc);
  }
  return caps->data.assignedPCR;
}

std::vector<std::string> active_banks(const TPML_PCR_SELECTION& sel) {
  std::vector<std::string> out;
  for (std::uint32_t i = 0; i < sel.count && i < TPM2_NUM_PCR_BANKS; ++i) {
    const auto& s = sel.pcrSelections[i];
    const bool any = std::any_of(s.pcrSelect, s.pcrSelect + std::min<std::size_t>(s.sizeofSelect, sizeof s.pcrSelect),
                                 [](std::uint8_t b) { return b != 0; });
    const char* name = bank_name(s.hash);
    if (any) out.push_back(name != nullptr ? name : "alg-" + std::to_string(s.hash));
  }
  return out;
}

std::string identity_text(std::uint32_t value) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "id:%08X", value);
  return hex;
}

acm::Result<TpmIdentity> read_identity(const EsysContext& ctx) {
  EsysOut<TPMS_CAPABILITY_DATA> caps;
  TPMI_YES_NO more = TPM2_NO;
  if (const TSS2_RC rc = Esys_GetCapability(ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                            TPM2_CAP_TPM_PROPERTIES, TPM2_PT_FIXED, 64, &more,
                                            caps.out());
      rc != TSS2_RC_SUCCESS) {
    return ctx.fail("GetCapability(TPM_PROPERTIES)", rc);
  }
  TpmIdentity id;
  std::string vendor;
  std::uint32_t fw1 = 0;
  std::uint32_t fw2 = 0;
  const auto& props = caps->data.tpmProperties;
  for (std::uint32_t i = 0; i < props.count && i < TPM2_MAX_TPM_PROPERTIES; ++i) {
    const auto& p = props.tpmProperty[i];
    if (p.property == TPM2_PT_MANUFACTURER) id.manufacturer = identity_text(p.value);
    if (p.property >= TPM2_PT_VENDOR_STRING_1 && p.property <= TPM2_PT_VENDOR_STRING_4) {
      for (int shift = 24; shift >= 0; shift -= 8) {
        const char c = static_cast<char>((p.value >> shift) & 0xff);
        if (c != '\0') vendor += c;
      }
    }
    if (p.property == TPM2_PT_FIRMWARE_VERSION_1) fw1 = p.value;
    if (p.property == TPM2_PT_FIRMWARE_VERSION_2) fw2 = p.value;
  }
  id.model = vendor.empty() ? "unknown" : vendor;
  id.version = identity_text(fw1) + (fw2 != 0 ? identity_text(fw2).substr(3) : "");
  if (id.manufacturer.empty()) id.manufacturer = "id:00000000";
  return id;
}

// TCG EK Credential Profile 2.0, B.3.3 template L-1: RSA 2048, AES-128-CFB,
// policy A (PolicySecret(TPM_RH_ENDORSEMENT)), unique = 256 zero bytes.
TPM2B_PUBLIC ek_template_rsa() {
  static constexpr std::uint8_t kPolicyA[] = {
      0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
      0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA};
  TPM2B_PUBLIC t{};
  auto& a = t.publicArea;
  a.type = TPM2_ALG_RSA;
  a.nameAlg = TPM2_ALG_SHA256;
  a.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  a.authPolicy.size = sizeof kPolicyA;
  std::memcpy(a.authPolicy.buffer, kPolicyA, sizeof kPolicyA);
  a.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
  a.parameters.rsaDetail.symmetric.keyBits.aes = 128;
  a.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  a.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
  a.parameters.rsaDetail.keyBits = 2048;
  a.parameters.rsaDetail.exponent = 0;
  a.unique.rsa.size = 256;
  return t;
}

// The platform AK: restricted ECDSA P-256 / SHA-256, its unique field a
// fixed label so it differs from other tools' keys on the same TPM.
TPM2B_PUBLIC platform_ak_template() {
  static constexpr char kLabel[] = "shype vTPM manager platform AK";
  TPM2B_PUBLIC t{};
  auto& a = t.publicArea;
  a.type = TPM2_ALG_ECC;
  a.nameAlg = TPM2_ALG_SHA256;
  a.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  a.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  a.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  a.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  a.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  a.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  a.unique.ecc.x.size = sizeof kLabel - 1;
  std::memcpy(a.unique.ecc.x.buffer, kLabel, sizeof kLabel - 1);
  return t;
}

acm::Status create_primary(const EsysContext& ctx, ESYS_TR hierarchy, const TPM2B_PUBLIC& tmpl,
                           Transient& handle, TPM2B_PUBLIC& out_public, std::string_view what) {
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcr{};
  EsysOut<TPM2B_PUBLIC> pub;
  EsysOut<TPM2B_CREATION_DATA> creation_data;
  EsysOut<TPM2B_DIGEST> creation_hash;
  EsysOut<TPMT_TK_CREATION> ticket;
  if (const TSS2_RC rc = Esys_CreatePrimary(ctx.get(), hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                            ESYS_TR_NONE, &sensitive, &tmpl, &outside,
                                            &creation_pcr, handle.out(), pub.out(),
                                            creation_data.out(), creation_hash.out(), ticket.out());
      rc != TSS2_RC_SUCCESS) {
    return ctx.fail(std::string("CreatePrimary(") + std::string(what) + ")", rc);
  }
  out_public = *pub.p;
  return {};
}

TPML_PCR_SELECTION sha256_selection(const std::vector<std::uint32_t>& pcrs) {
  TPML_PCR_SELECTION sel{};
  sel.count = 1;
  sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
  sel.pcrSelections[0].sizeofSelect = 3;
  for (const auto p : pcrs)
    sel.pcrSelections[0].pcrSelect[p / 8] = static_cast<std::uint8_t>(sel.pcrSelections[0].pcrSelect[p / 8] | (1U << (p % 8)));
  return sel;
}

// PCR_Read answers at most 8 digests per call and says which; the loop asks
// again for the rest.
acm::Result<std::vector<PcrValue>> read_pcrs(const EsysContext& ctx,
                                             const std::vector<std::uint32_t>& pcrs) {
  std::vector<std::uint32_t> remaining;
  for (const auto p : pcrs) {
    if (p > kMaxPcrIndex) return make_error(Errc::invalid_argument, "PCR " + std::to_string(p) + " is out of range 0-23");
    if (std::find(remaining.begin(), remaining.end(), p) == remaining.end()) remaining.push_back(p);
  }
  std::sort(remaining.begin(), remaining.end());
  std::vector<PcrValue> out;
  while (!remaining.empty()) {
    const TPML_PCR_SELECTION sel = sha256_selection(remaining);
    std::uint32_t counter = 0;
    EsysOut<TPML_PCR_SELECTION> sel_out;
    EsysOut<TPML_DIGEST> values;
    const std::string what = "PCR_Read(sha256:" + format_pcr_list(remaining) + ")";
    if (const TSS2_RC rc = Esys_PCR_Read(ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
                                         &counter, sel_out.out(), values.out());
        rc != TSS2_RC_SUCCESS) {
      return ctx.fail(what, rc);
    }
    std::vector<std::uint32_t> returned;
    if (sel_out->count == 1 && sel_out->pcrSelections[0].hash == TPM2_ALG_SHA256) {
      const auto& s = sel_out->pcrSelections[0];
      for (std::uint32_t i = 0; i <= kMaxPcrIndex && i / 8 < s.sizeofSelect; ++i) {
        if ((s.pcrSelect[i / 8] & (1U << (i % 8))) != 0) returned.push_back(i);
      }
    }
    if (returned.empty() || returned.size() != values->count) {
      return make_error(Errc::io_error, what + " on the TPM '" + ctx.tcti_config() +
                                            "': no sha256 values (is the sha256 bank allocated?)");
    }
    for (std::size_t i = 0; i < returned.size(); ++i) {
      const auto& d = values->digests[i];
      if (d.size != 32 ||
          std::find(remaining.begin(), remaining.end(), returned[i]) == remaining.end()) {
        return make_error(Errc::io_error, what + " on the TPM '" + ctx.tcti_config() +
                                              "': an unexpected answer");
      }
      out.push_back({returned[i], Bytes(d.buffer, d.buffer + 32)});
      remaining.erase(std::find(remaining.begin(), remaining.end(), returned[i]));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const PcrValue& a, const PcrValue& b) { return a.index < b.index; });
  return out;
}

acm::Status allocate_banks(EsysContext& ctx, const std::string& tcti,
                           const std::filesystem::path& ctrl_socket,
                           const std::vector<std::string>& wanted) {
  auto current = pcr_allocation(ctx);
  if (!current) return tl::unexpected(current.error());
  std::vector<std::string> have = active_banks(*current);
  std::vector<std::string> sorted_wanted = wanted;
  std::sort(have.begin(), have.end());
  std::sort(sorted_wanted.begin(), sorted_wanted.end());
  if (have == sorted_wanted) return {};
  TPML_PCR_SELECTION alloc{};
  for (std::uint32_t i = 0; i < current->count && i < TPM2_NUM_PCR_BANKS; ++i) {
    auto s = current->pcrSelections[i];
    const char* name = bank_name(s.hash);
    const bool on = name != nullptr && std::find(wanted.begin(), wanted.end(), name) != wanted.end();
    std::fill(s.pcrSelect, s.pcrSelect + sizeof s.pcrSelect, static_cast<std::uint8_t>(on ? 0xff : 0));
    alloc.pcrSelections[alloc.count++] = s;
  }
  for (const auto& w : wanted) {
    const bool implemented = std::any_of(alloc.pcrSelections, alloc.pcrSelections + alloc.count,
                                         [&](const TPMS_PCR_SELECTION& s) {
                                           const char* n = bank_name(s.hash);
                                           return n != nullptr && w == n;
                                         });
    if (!implemented) {
      return make_error(Errc::unsupported, "the TPM '" + tcti + "' has no PCR bank " + w);
    }
  }
  TPMI_YES_NO success = TPM2_NO;
  std::uint32_t max_pcr = 0;
  std::uint32_t size_needed = 0;
  std::uint32_t size_available = 0;
  if (const TSS2_RC rc = Esys_PCR_Allocate(ctx.get(), ESYS_TR_RH_PLATFORM, ESYS_TR_PASSWORD,
                                           ESYS_TR_NONE, ESYS_TR_NONE, &alloc, &success, &max_pcr,
                                           &size_needed, &size_available);
      rc != TSS2_RC_SUCCESS) {
    return ctx.fail("PCR_Allocate", rc);
  }
  if (success != TPM2_YES) {
    return make_error(Errc::io_error, "PCR_Allocate on the TPM '" + tcti + "' was refused (needs " +
                                          std::to_string(size_needed) + " bytes, " +
                                          std::to_string(size_available) + " available)");
  }
  // The allocation takes effect at the next TPM2_Startup after _TPM_Init:
  // an orderly shutdown, INIT over swtpm's control channel, Startup.
  if (const TSS2_RC rc = Esys_Shutdown(ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_SU_CLEAR); rc != TSS2_RC_SUCCESS) {
    return ctx.fail("TPM2_Shutdown", rc);
  }
  {
    // Close the connection before the restart (moved-from ctx holds nothing).
    const EsysContext closing = std::move(ctx);
  }
  if (auto ok = swtpm_control(ctrl_socket, SwtpmCommand::init, kRestartTimeout); !ok) {
    return make_error(Errc::io_error, "cannot restart the TPM '" + tcti + "' after PCR_Allocate: " + ok.error().message);
  }
  auto reopened = EsysContext::open(tcti);
  if (!reopened) return tl::unexpected(reopened.error());
  ctx = std::move(*reopened);
  return startup(ctx);
}

}  // namespace attest_detail

using namespace attest_detail;

bool is_known_pcr_bank(std::string_view bank) noexcept {
  return std::any_of(std::begin(kBanks), std::end(kBanks),
                     [&](const BankName& b) { return bank == b.name; });
}

acm::Result<std::vector<std::string>> parse_pcr_banks(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string bank(text.substr(start, comma - start));
    if (!is_known_pcr_bank(bank)) {
      return make_error(Errc::invalid_argument, "PCR bank '" + bank +
                                                    "' is not one of sha1, sha256, sha384, sha512");
    }
    if (std::find(out.begin(), out.end(), bank) != out.end()) {
      return make_error(Errc::invalid_argument, "PCR bank '" + bank + "' is listed twice");
    }
    out.push_back(bank);
    start = comma + 1;
  }
  return out;
}

acm::Result<std::vector<std::string>> allocated_pcr_banks(const std::string& tcti) {
  auto ctx = EsysContext::open(tcti);
  if (!ctx) return tl::unexpected(ctx.error());
  if (auto ok = startup(*ctx); !ok) return tl::unexpected(ok.error());
  auto sel = pcr_allocation(*ctx);
  if (!sel) return tl::unexpected(sel.error());
  return active_banks(*sel);
}

acm::Result<Manufactured> manufacture_instance(const std::string& tcti,
                                               const std::filesystem::path& ctrl_socket,
                                               const std::vector<std::string>& pcr_banks,
                                               const LocalCa& ca) {
  if (pcr_banks.empty()) return make_error(Errc::invalid_argument, "no PCR bank requested");
  auto opened = EsysContext::open(tcti);
  if (!opened) return tl::unexpected(opened.error());
  EsysContext ctx = std::move(*opened);
  if (auto ok = startup(ctx); !ok) return tl::unexpected(ok.error());
  if (auto ok = allocate_banks(ctx, tcti, ctrl_socket, pcr_banks); !ok) return tl::unexpected(ok.error());

  Manufactured m;
  auto sel = pcr_allocation(ctx);
  if (!sel) return tl::unexpected(sel.error());
  m.pcr_banks = active_banks(*sel);
  auto identity = read_identity(ctx);
  if (!identity) return tl::unexpected(identity.error());
  m.identity = *identity;

  // The EK, kept at its standard persistent handle.
  Transient ek(ctx.get());
  TPM2B_PUBLIC ek_public{};
  if (auto ok = create_primary(ctx, ESYS_TR_RH_ENDORSEMENT, ek_template_rsa(), ek, ek_public, "EK");
      !ok) {
    return tl::unexpected(ok.error());
  }
  ESYS_TR persistent = ESYS_TR_NONE;
  if (const TSS2_RC rc = Esys_EvictControl(ctx.get(), ESYS_TR_RH_OWNER, ek.get(), ESYS_TR_PASSWORD,
                                           ESYS_TR_NONE, ESYS_TR_NONE, kEkPersistentHandle,
                                           &persistent);
      rc != TSS2_RC_SUCCESS) {
    return ctx.fail("EvictControl(EK to 0x81010001)", rc);
  }
  Esys_TR_Close(ctx.get(), &persistent);
  auto marshalled = marshal_public(ek_public);
  if (!marshalled) return tl::unexpected(marshalled.error());
  m.ek_public = std::move(*marshalled);

  auto cert = ca.issue_ek_certificate(m.ek_public, m.identity);
  if (!cert) return tl::unexpected(cert.error());
  m.ek_cert_der = std::move(*cert);

  // The certificate in NV, as the TCG provisioning guidance has it: defined
  // with platform authorization, readable by owner and by its own (empty)
  // auth, and write-locked once written.
  TPM2B_NV_PUBLIC nv{};
  nv.nvPublic.nvIndex = kEkCertNvIndexRsa;
  nv.nvPublic.nameAlg = TPM2_ALG_SHA256;
  nv.nvPublic.attributes = TPMA_NV_PPWRITE | TPMA_NV_WRITEDEFINE | TPMA_NV_PPREAD |
                           TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA |
                           TPMA_NV_PLATFORMCREATE;
  nv.nvPublic.dataSize = static_cast<std::uint16_t>(m.ek_cert_der.size());
  TPM2B_AUTH no_auth{};
  ESYS_TR index = ESYS_TR_NONE;
  if (const TSS2_RC rc = Esys_NV_DefineSpace(ctx.get(), ESYS_TR_RH_PLATFORM, ESYS_TR_PASSWORD,
                                             ESYS_TR_NONE, ESYS_TR_NONE, &no_auth, &nv, &index);
      rc != TSS2_RC_SUCCESS) {
    return ctx.fail("NV_DefineSpace(0x01c00002)", rc);
  }
  for (std::size_t offset = 0; offset < m.ek_cert_der.size(); offset += kNvChunk) {
    TPM2B_MAX_NV_BUFFER chunk{};
    chunk.size = static_cast<std::uint16_t>(std::min(kNvChunk, m.ek_cert_der.size() - offset));
    std::memcpy(chunk.buffer, m.ek_cert_der.data() + offset, chunk.size);
    if (const TSS2_RC rc = Esys_NV_Write(ctx.get(), ESYS_TR_RH_PLATFORM, index, ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE, &chunk,
                                         static_cast<std::uint16_t>(offset));
        rc != TSS2_RC_SUCCESS) {
      Esys_TR_Close(ctx.get(), &index);
      return ctx.fail("NV_Write(0x01c00002)", rc);
    }
  }
  const TSS2_RC lock = Esys_NV_WriteLock(ctx.get(), ESYS_TR_RH_PLATFORM, index, ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE);
  Esys_TR_Close(ctx.get(), &index);
  if (lock != TSS2_RC_SUCCESS) return ctx.fail("NV_WriteLock(0x01c00002)", lock);
  return m;
}

acm::Result<InstanceEvidence> read_instance_evidence(const std::string& tcti,
                                                     const std::vector<std::uint32_t>& pcrs) {
  auto ctx = EsysContext::open(tcti);
  if (!ctx) return tl::unexpected(ctx.error());
  ESYS_TR ek = ESYS_TR_NONE;
  if (const TSS2_RC rc = Esys_TR_FromTPMPublic(ctx->get(), kEkPersistentHandle, ESYS_TR_NONE,
                                               ESYS_TR_NONE, ESYS_TR_NONE, &ek);
      rc != TSS2_RC_SUCCESS) {
    if ((rc & 0xfff) == TPM2_RC_INITIALIZE) {
      return make_error(Errc::io_error, "the TPM '" + tcti + "' has not been started (TPM2_Startup)");
    }
    return ctx->fail("reading the EK at 0x81010001", rc);
  }
  EsysOut<TPM2B_PUBLIC> pub;
  EsysOut<TPM2B_NAME> name;
  EsysOut<TPM2B_NAME> qualified;
  const TSS2_RC rc = Esys_ReadPublic(ctx->get(), ek, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     pub.out(), name.out(), qualified.out());
  Esys_TR_Close(ctx->get(), &ek);
  if (rc != TSS2_RC_SUCCESS) return ctx->fail("ReadPublic(EK at 0x81010001)", rc);
  InstanceEvidence e;
  auto marshalled = marshal_public(*pub.p);
  if (!marshalled) return tl::unexpected(marshalled.error());
  e.ek_public = std::move(*marshalled);
  auto values = read_pcrs(*ctx, pcrs);
  if (!values) return tl::unexpected(values.error());
  e.pcrs = std::move(*values);
  return e;
}

acm::Result<Bytes> platform_ak_public(const std::string& platform_tcti) {
  auto ctx = EsysContext::open(platform_tcti);
  if (!ctx) return tl::unexpected(ctx.error());
  Transient ak(ctx->get());
  TPM2B_PUBLIC pub{};
  if (auto ok = create_primary(*ctx, ESYS_TR_RH_ENDORSEMENT, platform_ak_template(), ak, pub,
                               "platform AK");
      !ok) {
    return tl::unexpected(ok.error());
  }
  return marshal_public(pub);
}

acm::Result<PlatformEvidence> platform_quote(const std::string& platform_tcti,
                                             std::span<const std::uint8_t> qualifying_data,
                                             const std::vector<std::uint32_t>& pcrs) {
  if (qualifying_data.size() > sizeof(TPM2B_DATA::buffer)) {
    return make_error(Errc::invalid_argument, "qualifying data longer than a TPM2B_DATA");
  }
  if (pcrs.empty()) return make_error(Errc::invalid_argument, "no platform PCR to quote");
  auto ctx = EsysContext::open(platform_tcti);
  if (!ctx) return tl::unexpected(ctx.error());
  Transient ak(ctx->get());
  TPM2B_PUBLIC ak_public{};
  if (auto ok = create_primary(*ctx, ESYS_TR_RH_ENDORSEMENT, platform_ak_template(), ak, ak_public,
                               "platform AK");
      !ok) {
    return tl::unexpected(ok.error());
  }
  TPM2B_DATA qualifying{};
  qualifying.size = static_cast<std::uint16_t>(qualifying_data.size());
  std::memcpy(qualifying.buffer, qualifying_data.data(), qualifying_data.size());
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;  // the key's own: ECDSA / SHA-256
  const TPML_PCR_SELECTION sel = sha256_selection(pcrs);
  EsysOut<TPM2B_ATTEST> quoted;
  EsysOut<TPMT_SIGNATURE> signature;
  if (const TSS2_RC rc = Esys_Quote(ctx->get(), ak.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &qualifying, &scheme, &sel, quoted.out(),
                                    signature.out());
      rc != TSS2_RC_SUCCESS) {
    return ctx->fail("Quote", rc);
  }
  PlatformEvidence p;
  p.attest.assign(quoted->attestationData, quoted->attestationData + quoted->size);
  Bytes sig(sizeof(TPMT_SIGNATURE));
  size_t offset = 0;
  if (Tss2_MU_TPMT_SIGNATURE_Marshal(signature.p, sig.data(), sig.size(), &offset) !=
      TSS2_RC_SUCCESS) {
    return make_error(Errc::io_error, "cannot marshal the quote's signature");
  }
  sig.resize(offset);
  p.signature = std::move(sig);
  auto ak_bytes = marshal_public(ak_public);
  if (!ak_bytes) return tl::unexpected(ak_bytes.error());
  p.ak_public = std::move(*ak_bytes);
  p.pcrs = pcrs;
  std::sort(p.pcrs.begin(), p.pcrs.end());
  p.pcrs.erase(std::unique(p.pcrs.begin(), p.pcrs.end()), p.pcrs.end());
  auto values = read_pcrs(*ctx, p.pcrs);
  if (!values) return tl::unexpected(values.error());
  p.pcr_values = std::move(*values);
  return p;
}

acm::Result<DeepQuote> make_deep_quote(const DeepQuoteRequest& r) {
  std::vector<std::uint32_t> vtpm_pcrs = r.vtpm_pcrs;
  std::sort(vtpm_pcrs.begin(), vtpm_pcrs.end());
  vtpm_pcrs.erase(std::unique(vtpm_pcrs.begin(), vtpm_pcrs.end()), vtpm_pcrs.end());
  auto evidence = read_instance_evidence(r.instance_tcti, vtpm_pcrs);
  if (!evidence) return tl::unexpected(evidence.error());
  auto qualifying = deep_quote_qualifying_data(r.nonce, r.uuid, evidence->ek_public, evidence->pcrs);
  if (!qualifying) return tl::unexpected(qualifying.error());
  auto platform = platform_quote(r.platform_tcti, *qualifying, r.platform_pcrs);
  if (!platform) return tl::unexpected(platform.error());
  DeepQuote q;
  q.nonce = r.nonce;
  q.uuid = r.uuid;
  q.instance = r.instance;
  q.ek_public = std::move(evidence->ek_public);
  q.ek_cert_pem = r.ek_cert_pem;
  q.vtpm_pcrs = std::move(evidence->pcrs);
  q.platform = std::move(*platform);
  return q;
}

}  // namespace shype::vtpm
