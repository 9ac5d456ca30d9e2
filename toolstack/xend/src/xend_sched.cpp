// Save, restore, scheduling and uptime (manual 4.2, 7, 8.1).
#include "xend/xend.hpp"

namespace shype::xend {

acm::Status Xend::apply_scheduling(std::uint16_t, const Json&) { return {}; }

RpcResult Xend::uptime(const Json&) { return rpc::fail("uptime: pending"); }
RpcResult Xend::save_domain(const Json&) { return rpc::fail("save: pending"); }
RpcResult Xend::restore_domain(const Json&) { return rpc::fail("restore: pending"); }
RpcResult Xend::sched_credit(const Json&) { return rpc::fail("sched-credit: pending"); }
RpcResult Xend::vcpu_pin(const Json&) { return rpc::fail("vcpu-pin: pending"); }
RpcResult Xend::vcpu_list(const Json&) { return rpc::fail("vcpu-list: pending"); }

}  // namespace shype::xend
