// grant_table_op: grant access / end access, map / unmap, copy
// (docs/hypercall-abi.md "Grant tables").
#include "hv/hypervisor.hpp"

namespace shype::hv {

Reply Hypervisor::handle(Domain& /*caller*/, wire::GntMapRef& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "GNTTABOP_map_grant_ref is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::GntUnmapRef& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "GNTTABOP_unmap_grant_ref is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::GntCopy& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "GNTTABOP_copy is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::GntQuerySize& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "GNTTABOP_query_size is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::GntGrantAccess& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "GNTTABOP_grant_access is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::GntEndAccess& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "GNTTABOP_end_access is not implemented");
}
void Hypervisor::release_grants(Domain& /*domain*/, bool /*destroyed*/) {}
void Hypervisor::append_grant_sharings(xsm::LiveState& /*live*/) const {}

}  // namespace shype::hv
