// event_channel_op: interdomain channels with per-binding eventfd doorbells,
// virtual IRQs (docs/hypercall-abi.md "Event channels").
#include "hv/hypervisor.hpp"

namespace shype::hv {

Reply Hypervisor::handle(Domain& /*caller*/, wire::EvtchnAllocUnbound& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "EVTCHNOP_alloc_unbound is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::EvtchnBindInterdomain& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "EVTCHNOP_bind_interdomain is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::EvtchnBindVirq& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "EVTCHNOP_bind_virq is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::EvtchnClose& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "EVTCHNOP_close is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::EvtchnSend& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "EVTCHNOP_send is not implemented");
}
Reply Hypervisor::handle(Domain& /*caller*/, wire::EvtchnStatus& /*body*/, Fds& /*fds*/) {
  return Reply::error(Errno::nosys, "EVTCHNOP_status is not implemented");
}
void Hypervisor::send_virq(Domain& /*domain*/, abi::Virq /*virq*/) {}
void Hypervisor::release_event_channels(Domain& /*domain*/) {}
void Hypervisor::release_connection_ports(std::uint64_t /*connection_id*/) {}
void Hypervisor::append_event_channel_sharings(xsm::LiveState& /*live*/) const {}

}  // namespace shype::hv
