// grant_table_op for Domain-0: mapping guests' grants (backends), unmap,
// copy, query. Domain-0 has no guest memory, so it never grants.
#include <cerrno>

#include "xenctrl/connection.hpp"

namespace shype::xc {

Result<Connection::MappedGrant> Connection::map_grant(abi::domid_t granter, abi::grant_ref_t ref,
                                                      bool readonly) {
  hv::wire::GntMapRef body;
  body.args.granter = granter;
  body.args.ref = ref;
  body.args.flags = readonly ? abi::kGrantReadOnly : 0;
  auto message = call_ok("map_grant_ref", body);
  if (!message) return tl::unexpected(message.error());
  const auto answer = hv::wire::load_exact<abi::GntMap>(message->payload);
  if (!answer || message->fds.size() != 1) {
    return make_error(EPROTO, "map_grant_ref", "response is not a GntMap with one descriptor");
  }
  MappedGrant mapping;
  mapping.fd = std::move(message->fds.front());
  mapping.handle = answer->handle;
  mapping.granter = granter;
  mapping.ref = ref;
  mapping.readonly = readonly;
  return mapping;
}

Status Connection::unmap_grant(MappedGrant& mapping) {
  hv::wire::GntUnmapRef body;
  body.args.handle = mapping.handle;
  auto message = call_ok("unmap_grant_ref", body);
  if (!message) return tl::unexpected(message.error());
  mapping.fd.reset();
  return {};
}

Status Connection::copy_grant(const abi::GntCopy& request) {
  hv::wire::GntCopy body;
  body.args = request;
  auto message = call_ok("grant_copy", body);
  if (!message) return tl::unexpected(message.error());
  return {};
}

Result<abi::GntQuerySize> Connection::query_grants() {
  auto message = call_ok("grant_query_size", hv::wire::GntQuerySize{});
  if (!message) return tl::unexpected(message.error());
  const auto answer = hv::wire::load_exact<abi::GntQuerySize>(message->payload);
  if (!answer) return make_error(EPROTO, "grant_query_size", "response is not a GntQuerySize");
  return *answer;
}

}  // namespace shype::xc
