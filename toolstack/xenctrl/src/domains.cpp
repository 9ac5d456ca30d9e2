// domctl: domain management.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "xenctrl/connection.hpp"

#include "shype/io/xenbus.hpp"

namespace shype::xc {
namespace {

hv::wire::DestroyDomain destroy_body(abi::domid_t domid) {
  hv::wire::DestroyDomain body;
  body.args.domid = domid;
  return body;
}

template <typename B>
B on_domain(abi::domid_t domid) {
  B body;
  body.args.domid = domid;
  return body;
}

}  // namespace

Result<abi::domid_t> Connection::create_domain(const DomainSpec& spec) {
  hv::wire::CreateDomain body;
  if (spec.name.empty() || spec.name.size() >= sizeof body.args.name) {
    return make_error(EINVAL, "createdomain", "name must be 1..63 bytes");
  }
  if (spec.cmdline.size() >= sizeof body.args.cmdline ||
      spec.cmdline.find('\0') != std::string::npos) {
    return make_error(EINVAL, "createdomain", "cmdline must be at most 1023 bytes without NUL");
  }
  body.args.ssidref = spec.ssidref;
  body.args.memory_mib = spec.memory_mib;
  body.args.vcpus = 1;
  body.args.flags = spec.start_paused ? abi::kCreateStartPaused : 0;
  std::memcpy(body.args.name, spec.name.data(), spec.name.size());
  std::memcpy(body.args.cmdline, spec.cmdline.data(), spec.cmdline.size());

  hv::UniqueFd opened;
  int kernel_fd = -1;
  if (const auto* path = std::get_if<std::filesystem::path>(&spec.kernel)) {
    opened.reset(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
    if (!opened) return make_error(errno, "createdomain", "kernel '" + path->string() + "'");
    kernel_fd = opened.get();
  } else {
    kernel_fd = std::get<int>(spec.kernel);
  }
  const int fds[] = {kernel_fd};
  auto message = call_ok("createdomain", body, fds);
  if (!message) return tl::unexpected(message.error());
  const auto out = hv::wire::load_exact<abi::DomctlCreateDomain>(message->payload);
  if (!out) return make_error(EPROTO, "createdomain", "response is not a DomctlCreateDomain");
  return out->domid;
}

Status Connection::destroy_domain(abi::domid_t domid) {
  auto message = call_ok("destroydomain", destroy_body(domid));
  if (!message) return tl::unexpected(message.error());
  return {};
}

Status Connection::pause_domain(abi::domid_t domid) {
  auto message = call_ok("pausedomain", on_domain<hv::wire::PauseDomain>(domid));
  if (!message) return tl::unexpected(message.error());
  return {};
}

Status Connection::unpause_domain(abi::domid_t domid) {
  auto message = call_ok("unpausedomain", on_domain<hv::wire::UnpauseDomain>(domid));
  if (!message) return tl::unexpected(message.error());
  return {};
}

Status Connection::set_start_info(abi::domid_t domid, abi::evtchn_port_t console_port,
                                  abi::evtchn_port_t store_port) {
  hv::wire::SetStartInfo body;
  body.args.domid = domid;
  body.args.flags = (console_port != 0 || store_port != 0) ? abi::io::kStartDevices : 0;
  body.args.console_evtchn = console_port;
  body.args.store_evtchn = store_port;
  auto message = call_ok("set_start_info", body);
  if (!message) return tl::unexpected(message.error());
  return {};
}

Status Connection::request_shutdown(abi::domid_t domid, abi::ShutdownReason reason) {
  hv::wire::RequestShutdown body;
  body.args.domid = domid;
  body.args.reason = static_cast<std::uint32_t>(reason);
  auto message = call_ok("request_shutdown", body);
  if (!message) return tl::unexpected(message.error());
  return {};
}

Result<DomainInfo> Connection::domain_info(abi::domid_t domid) {
  auto message = call_ok("getdomaininfo", on_domain<hv::wire::GetDomainInfo>(domid));
  if (!message) return tl::unexpected(message.error());
  const auto info = hv::wire::load_exact<abi::DomainInfo>(message->payload);
  if (!info) return make_error(EPROTO, "getdomaininfo", "response is not a DomainInfo");
  return DomainInfo::from_abi(*info);
}

Result<ConsoleChunk> Connection::console_read(abi::domid_t domid, std::uint64_t offset,
                                              std::uint32_t max_bytes) {
  hv::wire::DomainConsoleRead body;
  body.args.domid = domid;
  body.args.max_bytes = max_bytes;
  body.args.offset = offset;
  auto message = call_ok("console_read", body);
  if (!message) return tl::unexpected(message.error());
  const auto& payload = message->payload;
  if (payload.size() < sizeof(abi::DomctlConsoleData) ||
      payload.size() - sizeof(abi::DomctlConsoleData) > max_bytes) {
    return make_error(EPROTO, "console_read", "response size out of range");
  }
  const auto data = hv::wire::load_at<abi::DomctlConsoleData>(payload, 0);
  ConsoleChunk chunk;
  chunk.bytes.assign(payload.begin() + sizeof data, payload.end());
  chunk.next_offset = data.next_offset;
  chunk.lost = data.lost;
  return chunk;
}

Status Connection::console_write(abi::domid_t domid, std::string_view bytes) {
  constexpr std::size_t kChunk = abi::kMaxPayload - sizeof(abi::DomctlDomain);
  if (bytes.empty()) return {};
  while (!bytes.empty()) {
    hv::wire::DomainConsoleWrite body;
    body.args.domid = domid;
    body.bytes = std::string(bytes.substr(0, kChunk));
    bytes.remove_prefix(body.bytes.size());
    auto message = call_ok("console_write", body);
    if (!message) return tl::unexpected(message.error());
  }
  return {};
}

}  // namespace shype::xc
