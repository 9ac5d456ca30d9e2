// Writing the hypervisor's fields of a guest's shared_info page
// (shared_info.hpp): identity (and whether it resumes) at creation, time at start and on every
// delivery. The event bitmaps come with event channels (next stage).
#pragma once

#include <cstdint>

#include "hv/mapping.hpp"
#include "shype/abi.hpp"

namespace shype::hv {

// Precondition: page maps at least sizeof(abi::SharedInfo) bytes.
// resume_count: nonzero for a domain restored from a save (shared_info.hpp).
void init_shared_info(const Mapping& page, abi::domid_t domid, std::uint64_t memory_bytes,
                      std::uint32_t resume_count = 0);
void publish_time(const Mapping& page);
// The device bootstrap fields (domctl set_start_info); start_flags last.
void set_start_info(const Mapping& page, std::uint32_t flags, std::uint32_t console_evtchn,
                    std::uint32_t store_evtchn);

}  // namespace shype::hv
