// xsm_op: the ACM operations. Policies go to the hypervisor, and come back,
// as sealed memfds.
#include <cerrno>
#include <cstring>

#include "hv/sealed_memfd.hpp"
#include "xenctrl/connection.hpp"

namespace shype::xc {
namespace {

std::string result_message(const abi::AcmPolicyResult& result) {
  return std::string(result.message, ::strnlen(result.message, sizeof result.message));
}

std::vector<abi::AcmErrorTuple> result_errors(const abi::AcmPolicyResult& result) {
  const std::uint32_t count = std::min<std::uint32_t>(result.error_count, abi::kAcmMaxErrors);
  return {result.errors, result.errors + count};
}

}  // namespace

Result<PolicyOutcome> Connection::policy_call(std::string_view op, const hv::wire::Body& body,
                                              std::span<const int> fds) {
  auto message = call(op, body, fds);
  if (!message) return tl::unexpected(message.error());
  const auto result = hv::wire::load_exact<abi::AcmPolicyResult>(message->payload);
  if (message->header.status < 0) {
    Error error{-message->header.status, std::string(op), {}, {}};
    if (result) {
      error.message = result_message(*result);
      error.acm_errors = result_errors(*result);
    } else if (!message->payload.empty() && message->payload.back() == 0) {
      error.message.assign(message->payload.begin(), message->payload.end() - 1);
    }
    return tl::unexpected(std::move(error));
  }
  if (!result) return make_error(EPROTO, std::string(op), "response is not an AcmPolicyResult");
  return PolicyOutcome{result_errors(*result), result_message(*result)};
}

Result<PolicyOutcome> Connection::set_policy(std::span<const std::uint8_t> binary) {
  auto memfd = hv::make_sealed_memfd("shype-policy", binary);
  if (!memfd) return make_error(EIO, "setpolicy", memfd.error());
  hv::wire::AcmSetPolicy body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  body.args.size = static_cast<std::uint32_t>(binary.size());
  const int fds[] = {memfd->get()};
  return policy_call("setpolicy", body, fds);
}

Result<PolicyOutcome> Connection::change_policy(
    std::span<const std::uint8_t> binary, std::span<const std::uint32_t> deleted,
    std::span<const std::pair<std::uint32_t, std::uint32_t>> changed) {
  auto memfd = hv::make_sealed_memfd("shype-policy", binary);
  if (!memfd) return make_error(EIO, "chgpolicy", memfd.error());
  hv::wire::AcmChangePolicy body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  body.args.size = static_cast<std::uint32_t>(binary.size());
  body.deleted.assign(deleted.begin(), deleted.end());
  body.changed.assign(changed.begin(), changed.end());
  const std::size_t payload = sizeof body.args + body.deleted.size() * 4 + body.changed.size() * 8;
  if (payload > abi::kMaxPayload) {
    return make_error(E2BIG, "chgpolicy", "delete list and change map exceed one message");
  }
  const int fds[] = {memfd->get()};
  return policy_call("chgpolicy", body, fds);
}

Result<PolicyOutcome> Connection::relabel(std::span<const abi::AcmRelabelEntry> entries) {
  hv::wire::AcmRelabel body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  body.entries.assign(entries.begin(), entries.end());
  if (sizeof body.args + body.entries.size() * sizeof(abi::AcmRelabelEntry) > abi::kMaxPayload) {
    return make_error(E2BIG, "relabeldoms", "too many entries for one message");
  }
  return policy_call("relabeldoms", body, {});
}

Result<std::vector<std::uint8_t>> Connection::get_policy() {
  hv::wire::AcmGetPolicy body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  auto message = call_ok("getpolicy", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::AcmGetPolicy>(message->payload);
  if (!out || message->fds.size() != 1) {
    return make_error(EPROTO, "getpolicy", "response is not an AcmGetPolicy and a memfd");
  }
  auto view = hv::SealedView::open(message->fds[0].get(), out->size);
  if (!view) return make_error(view.error().error, "getpolicy", view.error().reason);
  return std::vector<std::uint8_t>(view->bytes().begin(), view->bytes().end());
}

Result<abi::AcmGetSsid> Connection::get_ssid(std::uint32_t get_by, std::uint32_t id) {
  hv::wire::AcmGetSsid body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  body.args.get_by = get_by;
  body.args.id = id;
  auto message = call_ok("getssid", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::AcmGetSsid>(message->payload);
  if (!out) return make_error(EPROTO, "getssid", "response is not an AcmGetSsid");
  return *out;
}

Result<std::int32_t> Connection::get_decision(std::uint32_t get_by1, std::uint32_t id1,
                                              std::uint32_t get_by2, std::uint32_t id2,
                                              abi::AcmHook hook) {
  hv::wire::AcmGetDecision body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  body.args.get_by1 = get_by1;
  body.args.id1 = id1;
  body.args.get_by2 = get_by2;
  body.args.id2 = id2;
  body.args.hook = static_cast<std::uint32_t>(hook);
  auto message = call_ok("getdecision", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::AcmGetDecision>(message->payload);
  if (!out) return make_error(EPROTO, "getdecision", "response is not an AcmGetDecision");
  return out->decision;
}

Result<std::int32_t> Connection::resource_access(abi::domid_t domid, std::uint32_t ssidref) {
  hv::wire::AcmResourceAccess body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  body.args.domid = domid;
  body.args.ssidref = ssidref;
  auto message = call_ok("resource_access", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::AcmResourceAccess>(message->payload);
  if (!out) return make_error(EPROTO, "resource_access", "response is not an AcmResourceAccess");
  return out->decision;
}

Result<std::int32_t> Connection::frame_access(abi::domid_t from, abi::domid_t to) {
  hv::wire::AcmFrameAccess body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  body.args.from = from;
  body.args.to = to;
  auto message = call_ok("frame_access", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::AcmFrameAccess>(message->payload);
  if (!out) return make_error(EPROTO, "frame_access", "response is not an AcmFrameAccess");
  return out->decision;
}

Result<abi::AcmStats> Connection::dumpstats() {
  hv::wire::AcmDumpStats body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  auto message = call_ok("dumpstats", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::AcmStats>(message->payload);
  if (!out) return make_error(EPROTO, "dumpstats", "response is not an AcmStats");
  return *out;
}

Result<AuditChunk> Connection::audit_read(std::uint64_t from_seq) {
  hv::wire::AcmAuditRead body;
  body.args.interface_version = abi::kAcmInterfaceVersion;
  body.args.from_seq = from_seq;
  auto message = call_ok("audit_read", body);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::AcmAuditRead>(message->payload);
  if (!out || message->fds.size() != 1) {
    return make_error(EPROTO, "audit_read", "response is not an AcmAuditRead and a memfd");
  }
  auto view = hv::SealedView::open(message->fds[0].get(), out->size);
  if (!view) return make_error(view.error().error, "audit_read", view.error().reason);
  AuditChunk chunk;
  chunk.next_seq = out->from_seq;
  // SAFETY: char and uint8_t have the same size and alignment; read only.
  std::string_view text(reinterpret_cast<const char*>(view->bytes().data()), view->bytes().size());
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    if (!line.empty()) chunk.records.emplace_back(line);
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  return chunk;
}

}  // namespace shype::xc
