// Internal: the xenstore client's connection (xenbus.cpp), set up by the
// device bootstrap (devices.cpp).
#pragma once

#include "shype/abi.hpp"
#include "shype/io/xs_wire.hpp"

namespace shype::guest::xenbus_detail {

void attach(abi::io::XenstoreDomainInterface* page, abi::evtchn_port_t port);

}  // namespace shype::guest::xenbus_detail
