// A domain's event-channel ports (event_channels.cpp, docs/hypercall-abi.md).
#pragma once

namespace shype::hv {

// Per-domain port table. Filled in by the event-channel implementation.
struct EventChannels {};

}  // namespace shype::hv
