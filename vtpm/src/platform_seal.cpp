#include "vtpm/platform_seal.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include "vtpm/esys.hpp"

namespace shype::vtpm {

namespace {

constexpr std::array<std::uint8_t, 8> kSealedMagic = {'S', 'H', 'V', 'T', 'P', 'M', 'K', '1'};
constexpr std::uint16_t kSealedVersion = 1;

struct Bank {
  const char* name;
  TPM2_ALG_ID alg;
};
constexpr Bank kSealBanks[] = {{"sha1", TPM2_ALG_SHA1},
                           {"sha256", TPM2_ALG_SHA256},
                           {"sha384", TPM2_ALG_SHA384},
                           {"sha512", TPM2_ALG_SHA512}};

bool tpm_error_is(TSS2_RC rc, TSS2_RC code) {
  // Format-one response codes carry a handle/parameter/session number in
  // bits 8-11; compare the code itself (TPM layer only).
  if ((rc & TSS2_RC_LAYER_MASK) != 0) return false;
  return (rc & TPM2_RC_FMT1) != 0 ? (rc & 0xbf) == code : rc == code;
}

TPML_PCR_SELECTION to_tpm(const PcrSelection& s) {
  TPML_PCR_SELECTION out{};
  out.count = 1;
  for (const auto& b : kSealBanks)
    if (s.bank == b.name) out.pcrSelections[0].hash = b.alg;
  out.pcrSelections[0].sizeofSelect = 3;
  for (unsigned pcr : s.pcrs)
    out.pcrSelections[0].pcrSelect[pcr / 8] |= static_cast<BYTE>(1u << (pcr % 8));
  return out;
}

acm::Result<PcrSelection> from_tpm(const TPML_PCR_SELECTION& t) {
  if (t.count != 1 || t.pcrSelections[0].sizeofSelect != 3) {
    return acm::make_error(acm::Errc::malformed_binary, "unsupported PCR selection");
  }
  PcrSelection out;
  out.bank.clear();
  for (const auto& b : kSealBanks)
    if (t.pcrSelections[0].hash == b.alg) out.bank = b.name;
  if (out.bank.empty()) return acm::make_error(acm::Errc::malformed_binary, "unknown PCR bank");
  for (unsigned pcr = 0; pcr < 24; ++pcr)
    if ((t.pcrSelections[0].pcrSelect[pcr / 8] & (1u << (pcr % 8))) != 0) out.pcrs.push_back(pcr);
  if (out.pcrs.empty()) return acm::make_error(acm::Errc::malformed_binary, "no PCR selected");
  return out;
}

// The owner-hierarchy storage primary: a fixed template, so the TPM derives
// the same key from its owner seed every time.
TPM2B_PUBLIC primary_template() {
  TPM2B_PUBLIC t{};
  t.publicArea.type = TPM2_ALG_ECC;
  t.publicArea.nameAlg = TPM2_ALG_SHA256;
  t.publicArea.objectAttributes = TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
                                  TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM |
                                  TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                  TPMA_OBJECT_NODA;
  auto& ecc = t.publicArea.parameters.eccDetail;
  ecc.symmetric.algorithm = TPM2_ALG_AES;
  ecc.symmetric.keyBits.aes = 128;
  ecc.symmetric.mode.aes = TPM2_ALG_CFB;
  ecc.scheme.scheme = TPM2_ALG_NULL;
  ecc.curveID = TPM2_ECC_NIST_P256;
  ecc.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

// Transient handles flushed when the scope ends (the TPM keeps them otherwise).
class Flush {
 public:
  explicit Flush(ESYS_CONTEXT* esys) : esys_(esys) {}
  Flush(const Flush&) = delete;
  Flush& operator=(const Flush&) = delete;
  ~Flush() {
    for (std::size_t i = used_; i-- > 0;)
      if (handles_[i] != ESYS_TR_NONE) (void)Esys_FlushContext(esys_, handles_[i]);
  }
  // A slot for a new handle (stable: the slots never move).
  ESYS_TR* add() {
    handles_.at(used_) = ESYS_TR_NONE;
    return &handles_[used_++];
  }
  // A handle the TPM already flushed (a session that ended with its command).
  void forget(ESYS_TR h) {
    for (auto& x : handles_)
      if (x == h) x = ESYS_TR_NONE;
  }

 private:
  ESYS_CONTEXT* esys_;
  std::array<ESYS_TR, 4> handles_{};
  std::size_t used_ = 0;
};

acm::Status create_primary(const EsysContext& ctx, ESYS_TR* handle) {
  TPM2B_SENSITIVE_CREATE sensitive{};
  const TPM2B_PUBLIC in_public = primary_template();
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcr{};
  const TSS2_RC rc = Esys_CreatePrimary(ctx.get(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                        ESYS_TR_NONE, &sensitive, &in_public, &outside,
                                        &creation_pcr, handle, nullptr, nullptr, nullptr, nullptr);
  if (rc != TSS2_RC_SUCCESS) return ctx.fail("cannot create the storage primary key", rc);
  return {};
}

// Starts a trial or policy session and runs PolicyPCR over the current
// values of `pcrs`.
acm::Status pcr_policy_session(const EsysContext& ctx, TPM2_SE type, const PcrSelection& pcrs,
                               ESYS_TR* session) {
  TPMT_SYM_DEF symmetric{};
  symmetric.algorithm = TPM2_ALG_NULL;
  TSS2_RC rc =
      Esys_StartAuthSession(ctx.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            ESYS_TR_NONE, nullptr, type, &symmetric, TPM2_ALG_SHA256, session);
  if (rc != TSS2_RC_SUCCESS) return ctx.fail("cannot start a policy session", rc);
  TPM2B_DIGEST empty{};
  const TPML_PCR_SELECTION selection = to_tpm(pcrs);
  rc = Esys_PolicyPCR(ctx.get(), *session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty,
                      &selection);
  if (rc != TSS2_RC_SUCCESS) return ctx.fail("PolicyPCR(" + pcrs.to_string() + ") failed", rc);
  return {};
}

template <typename T, typename Marshal>
void append(std::vector<std::uint8_t>& out, const T& value, Marshal marshal) {
  std::array<std::uint8_t, sizeof(T) + 16> buffer{};
  size_t offset = 0;
  if (marshal(&value, buffer.data(), buffer.size(), &offset) == TSS2_RC_SUCCESS)
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(offset));
}

acm::Result<std::uint32_t> parse_index(std::string_view text) {
  std::uint32_t index = 0;
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index, 16);
  if (ec != std::errc() || end != text.data() + text.size() || index < 0x01000000 ||
      index > 0x01bfffff) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "SHYPE_VTPM_NV_COUNTER: '" + std::string(text) +
                               "' is not an NV index in the owner range 0x01000000..0x01bfffff");
  }
  return index;
}

// The ESYS_TR of an NV index, or an error (TPM2_RC_HANDLE if undefined).
TSS2_RC nv_handle(const EsysContext& ctx, std::uint32_t index, ESYS_TR* handle) {
  return Esys_TR_FromTPMPublic(ctx.get(), index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, handle);
}

std::string index_text(std::uint32_t index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", index);
  return buf;
}

acm::Result<std::uint64_t> nv_read_counter(const EsysContext& ctx, ESYS_TR handle,
                                           std::uint32_t index) {
  TPM2B_MAX_NV_BUFFER* data = nullptr;
  const TSS2_RC rc = Esys_NV_Read(ctx.get(), ESYS_TR_RH_OWNER, handle, ESYS_TR_PASSWORD,
                                  ESYS_TR_NONE, ESYS_TR_NONE, 8, 0, &data);
  if (rc != TSS2_RC_SUCCESS) return ctx.fail("cannot read the NV counter " + index_text(index), rc);
  std::uint64_t value = 0;
  const bool ok = data->size == 8;
  for (std::size_t i = 0; ok && i < 8; ++i)
    value = (value << 8) | data->buffer[i];
  Esys_Free(data);
  if (!ok)
    return acm::make_error(acm::Errc::malformed_binary,
                           "NV counter " + index_text(index) + ": not 8 bytes");
  return value;
}

}  // namespace

std::string PcrSelection::to_string() const {
  std::string out = bank + ":";
  for (std::size_t i = 0; i < pcrs.size(); ++i)
    out += (i ? "," : "") + std::to_string(pcrs[i]);
  return out;
}

acm::Result<PcrSelection> parse_pcr_selection(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return acm::make_error(
        acm::Errc::invalid_argument,
        "PCR selection '" + std::string(text) + "': " + why + " (expected e.g. sha256:0,2,4,7)");
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return bad("no bank");
  PcrSelection out;
  out.bank = std::string(text.substr(0, colon));
  bool known = false;
  for (const auto& b : kSealBanks)
    known = known || out.bank == b.name;
  if (!known) return bad("unknown bank '" + out.bank + "'");
  std::string_view rest = text.substr(colon + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    unsigned pcr = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), pcr);
    if (ec != std::errc() || end != item.data() + item.size() || pcr > 23)
      return bad("'" + std::string(item) + "' is not a PCR number 0..23");
    for (unsigned p : out.pcrs)
      if (p == pcr) return bad("PCR " + std::to_string(pcr) + " twice");
    out.pcrs.push_back(pcr);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
    if (rest.empty()) return bad("trailing comma");
  }
  if (out.pcrs.empty()) return bad("no PCR");
  return out;
}

acm::Result<PcrSelection> seal_pcrs_from_environment() {
  const char* env = std::getenv("SHYPE_VTPM_SEAL_PCRS");
  if (env == nullptr || *env == '\0') return parse_pcr_selection(kDefaultSealPcrs);
  auto parsed = parse_pcr_selection(env);
  if (!parsed) {
    return acm::make_error(acm::Errc::invalid_argument,
                           "SHYPE_VTPM_SEAL_PCRS: " + parsed.error().message);
  }
  return parsed;
}

acm::Result<std::uint32_t> counter_index_from_environment() {
  const char* env = std::getenv("SHYPE_VTPM_NV_COUNTER");
  if (env == nullptr || *env == '\0') return kDefaultCounterIndex;
  return parse_index(env);
}

std::vector<std::uint8_t> SealedSecret::serialize() const {
  std::vector<std::uint8_t> out(kSealedMagic.begin(), kSealedMagic.end());
  out.push_back(static_cast<std::uint8_t>(kSealedVersion >> 8));
  out.push_back(static_cast<std::uint8_t>(kSealedVersion));
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<std::uint8_t>(counter_index >> shift));
  append(out, to_tpm(pcrs), Tss2_MU_TPML_PCR_SELECTION_Marshal);
  out.insert(out.end(), public_area.begin(), public_area.end());
  out.insert(out.end(), private_area.begin(), private_area.end());
  return out;
}

acm::Result<SealedSecret> parse_sealed_secret(std::span<const std::uint8_t> bytes,
                                              const std::string& what) {
  const auto bad = [&](const std::string& why) {
    return acm::make_error(acm::Errc::malformed_binary, what + ": " + why);
  };
  if (bytes.size() < kSealedMagic.size() + 6 ||
      !std::equal(kSealedMagic.begin(), kSealedMagic.end(), bytes.begin()))
    return bad("not a sealed manager key (bad magic or truncated)");
  const auto version = static_cast<std::uint16_t>((bytes[8] << 8) | bytes[9]);
  if (version != kSealedVersion) return bad("unsupported version " + std::to_string(version));
  SealedSecret out;
  out.counter_index = (std::uint32_t{bytes[10]} << 24) | (std::uint32_t{bytes[11]} << 16) |
                      (std::uint32_t{bytes[12]} << 8) | bytes[13];
  if (out.counter_index < 0x01000000 || out.counter_index > 0x01bfffff)
    return bad("NV counter index " + index_text(out.counter_index) + " outside the owner range");
  size_t offset = 14;
  TPML_PCR_SELECTION selection{};
  if (Tss2_MU_TPML_PCR_SELECTION_Unmarshal(bytes.data(), bytes.size(), &offset, &selection) !=
      TSS2_RC_SUCCESS)
    return bad("truncated or invalid PCR selection");
  auto pcrs = from_tpm(selection);
  if (!pcrs) return bad(pcrs.error().message);
  out.pcrs = *pcrs;
  const size_t public_at = offset;
  TPM2B_PUBLIC pub{};
  if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(bytes.data(), bytes.size(), &offset, &pub) != TSS2_RC_SUCCESS)
    return bad("truncated or invalid public area");
  if (pub.publicArea.type != TPM2_ALG_KEYEDHASH) return bad("not a sealed data object");
  out.public_area.assign(bytes.begin() + static_cast<std::ptrdiff_t>(public_at),
                         bytes.begin() + static_cast<std::ptrdiff_t>(offset));
  const size_t private_at = offset;
  TPM2B_PRIVATE priv{};
  if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(bytes.data(), bytes.size(), &offset, &priv) !=
      TSS2_RC_SUCCESS)
    return bad("truncated or invalid private area");
  out.private_area.assign(bytes.begin() + static_cast<std::ptrdiff_t>(private_at),
                          bytes.begin() + static_cast<std::ptrdiff_t>(offset));
  if (offset != bytes.size()) return bad("trailing bytes");
  return out;
}

acm::Result<SealedSecret> seal_secret(const std::string& tcti, const PcrSelection& pcrs,
                                      std::uint32_t counter_index, const StateKey& secret) {
  auto ctx = EsysContext::open(tcti);
  if (!ctx) return tl::unexpected(ctx.error());
  Flush flush(ctx->get());
  ESYS_TR* primary = flush.add();
  if (auto ok = create_primary(*ctx, primary); !ok) return tl::unexpected(ok.error());
  ESYS_TR* trial = flush.add();
  if (auto ok = pcr_policy_session(*ctx, TPM2_SE_TRIAL, pcrs, trial); !ok)
    return tl::unexpected(ok.error());
  TPM2B_DIGEST* policy = nullptr;
  TSS2_RC rc =
      Esys_PolicyGetDigest(ctx->get(), *trial, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &policy);
  if (rc != TSS2_RC_SUCCESS) return ctx->fail("cannot compute the PCR policy", rc);

  TPM2B_PUBLIC in_public{};
  in_public.publicArea.type = TPM2_ALG_KEYEDHASH;
  in_public.publicArea.nameAlg = TPM2_ALG_SHA256;
  // No USERWITHAUTH: only the PCR policy can authorize Unseal.
  in_public.publicArea.objectAttributes =
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA;
  in_public.publicArea.authPolicy = *policy;
  Esys_Free(policy);
  in_public.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
  TPM2B_SENSITIVE_CREATE sensitive{};
  sensitive.sensitive.data.size = static_cast<UINT16>(secret.size());
  std::memcpy(sensitive.sensitive.data.buffer, secret.data(), secret.size());
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcr{};
  TPM2B_PRIVATE* out_private = nullptr;
  TPM2B_PUBLIC* out_public = nullptr;
  rc = Esys_Create(ctx->get(), *primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                   &in_public, &outside, &creation_pcr, &out_private, &out_public, nullptr, nullptr,
                   nullptr);
  OPENSSL_cleanse(&sensitive, sizeof sensitive);
  if (rc != TSS2_RC_SUCCESS) return ctx->fail("cannot create the sealed manager key", rc);
  SealedSecret sealed;
  sealed.pcrs = pcrs;
  sealed.counter_index = counter_index;
  append(sealed.public_area, *out_public, Tss2_MU_TPM2B_PUBLIC_Marshal);
  append(sealed.private_area, *out_private, Tss2_MU_TPM2B_PRIVATE_Marshal);
  Esys_Free(out_private);
  Esys_Free(out_public);
  return sealed;
}

acm::Result<StateKey> unseal_secret(const std::string& tcti, const SealedSecret& sealed) {
  TPM2B_PUBLIC pub{};
  TPM2B_PRIVATE priv{};
  size_t offset = 0;
  if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(sealed.public_area.data(), sealed.public_area.size(), &offset,
                                     &pub) != TSS2_RC_SUCCESS ||
      (offset = 0, Tss2_MU_TPM2B_PRIVATE_Unmarshal(sealed.private_area.data(),
                                                   sealed.private_area.size(), &offset, &priv)) !=
          TSS2_RC_SUCCESS) {
    return acm::make_error(acm::Errc::malformed_binary, "the sealed manager key is malformed");
  }
  auto ctx = EsysContext::open(tcti);
  if (!ctx) return tl::unexpected(ctx.error());
  Flush flush(ctx->get());
  ESYS_TR* primary = flush.add();
  if (auto ok = create_primary(*ctx, primary); !ok) return tl::unexpected(ok.error());
  ESYS_TR* object = flush.add();
  TSS2_RC rc = Esys_Load(ctx->get(), *primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv,
                         &pub, object);
  if (rc != TSS2_RC_SUCCESS) {
    return acm::make_error(
        acm::Errc::update_rejected,
        "cannot unseal the manager key: the platform TPM '" + tcti +
            "' is not the one it was sealed to (another TPM, or its owner hierarchy was cleared): " +
            tss2_rc_text(rc));
  }
  ESYS_TR* session = flush.add();
  if (auto ok = pcr_policy_session(*ctx, TPM2_SE_POLICY, sealed.pcrs, session); !ok)
    return tl::unexpected(ok.error());
  // The session ends with Unseal (the TPM flushes it); on failure Flush does.
  rc = Esys_TRSess_SetAttributes(ctx->get(), *session, 0, TPMA_SESSION_CONTINUESESSION);
  if (rc != TSS2_RC_SUCCESS) return ctx->fail("cannot set the policy session's attributes", rc);
  TPM2B_SENSITIVE_DATA* data = nullptr;
  rc = Esys_Unseal(ctx->get(), *object, *session, ESYS_TR_NONE, ESYS_TR_NONE, &data);
  if (rc == TSS2_RC_SUCCESS) flush.forget(*session);  // ended with the command
  if (tpm_error_is(rc, TPM2_RC_POLICY_FAIL)) {
    return acm::make_error(acm::Errc::update_rejected,
                           "cannot unseal the manager key: the platform's PCRs changed (" +
                               sealed.pcrs.to_string() + " on '" + tcti +
                               "' differ from when it was sealed)");
  }
  if (rc != TSS2_RC_SUCCESS) return ctx->fail("cannot unseal the manager key", rc);
  StateKey key{};
  const bool ok = data->size == key.size();
  if (ok) std::memcpy(key.data(), data->buffer, key.size());
  OPENSSL_cleanse(data->buffer, data->size);
  Esys_Free(data);
  if (!ok)
    return acm::make_error(acm::Errc::malformed_binary, "the unsealed manager key is not 32 bytes");
  return key;
}

acm::Result<std::uint64_t> ensure_counter(const std::string& tcti, std::uint32_t index) {
  auto ctx = EsysContext::open(tcti);
  if (!ctx) return tl::unexpected(ctx.error());
  // Whether the index is defined, asked without an error (tpm2-tss logs a
  // failed Esys_TR_FromTPMPublic).
  TPMS_CAPABILITY_DATA* handles = nullptr;
  TPMI_YES_NO more = TPM2_NO;
  TSS2_RC rc = Esys_GetCapability(ctx->get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_HANDLES, index, 1, &more, &handles);
  if (rc != TSS2_RC_SUCCESS) return ctx->fail("cannot list the NV indices", rc);
  const bool defined = handles->data.handles.count > 0 && handles->data.handles.handle[0] == index;
  Esys_Free(handles);
  ESYS_TR handle = ESYS_TR_NONE;
  if (defined) {
    rc = nv_handle(*ctx, index, &handle);
    if (rc != TSS2_RC_SUCCESS) return ctx->fail("cannot open NV index " + index_text(index), rc);
    TPM2B_NV_PUBLIC* pub = nullptr;
    rc = Esys_NV_ReadPublic(ctx->get(), handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
                            nullptr);
    if (rc != TSS2_RC_SUCCESS) return ctx->fail("cannot read NV index " + index_text(index), rc);
    const TPMA_NV attributes = pub->nvPublic.attributes;
    Esys_Free(pub);
    const TPMA_NV wanted = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD;
    if (((attributes & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT) != TPM2_NT_COUNTER ||
        (attributes & wanted) != wanted) {
      return acm::make_error(acm::Errc::update_rejected,
                             "NV index " + index_text(index) +
                                 " exists on the platform TPM but is not an owner-controlled "
                                 "counter; choose another with SHYPE_VTPM_NV_COUNTER");
    }
    if ((attributes & TPMA_NV_WRITTEN) != 0) return nv_read_counter(*ctx, handle, index);
  } else {
    TPM2B_AUTH auth{};
    TPM2B_NV_PUBLIC info{};
    info.nvPublic.nvIndex = index;
    info.nvPublic.nameAlg = TPM2_ALG_SHA256;
    info.nvPublic.attributes = (TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT) | TPMA_NV_OWNERWRITE |
                               TPMA_NV_OWNERREAD | TPMA_NV_NO_DA;
    info.nvPublic.dataSize = 8;
    rc = Esys_NV_DefineSpace(ctx->get(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                             ESYS_TR_NONE, &auth, &info, &handle);
    if (rc != TSS2_RC_SUCCESS)
      return ctx->fail("cannot define the NV counter " + index_text(index), rc);
  }
  rc = Esys_NV_Increment(ctx->get(), ESYS_TR_RH_OWNER, handle, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS)
    return ctx->fail("cannot increment the NV counter " + index_text(index), rc);
  return nv_read_counter(*ctx, handle, index);
}

acm::Result<std::uint64_t> read_counter(const std::string& tcti, std::uint32_t index) {
  auto ctx = EsysContext::open(tcti);
  if (!ctx) return tl::unexpected(ctx.error());
  ESYS_TR handle = ESYS_TR_NONE;
  if (const TSS2_RC rc = nv_handle(*ctx, index, &handle); rc != TSS2_RC_SUCCESS) {
    return ctx->fail(
        "the NV counter " + index_text(index) + " is missing (another TPM, or it was cleared)", rc);
  }
  return nv_read_counter(*ctx, handle, index);
}

acm::Result<std::uint64_t> increment_counter(const std::string& tcti, std::uint32_t index) {
  auto ctx = EsysContext::open(tcti);
  if (!ctx) return tl::unexpected(ctx.error());
  ESYS_TR handle = ESYS_TR_NONE;
  TSS2_RC rc = nv_handle(*ctx, index, &handle);
  if (rc != TSS2_RC_SUCCESS) {
    return ctx->fail(
        "the NV counter " + index_text(index) + " is missing (another TPM, or it was cleared)", rc);
  }
  rc = Esys_NV_Increment(ctx->get(), ESYS_TR_RH_OWNER, handle, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS)
    return ctx->fail("cannot increment the NV counter " + index_text(index), rc);
  return nv_read_counter(*ctx, handle, index);
}

}  // namespace shype::vtpm
