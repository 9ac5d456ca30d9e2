// A domain's grant table and the mappings it holds (grant_table.cpp,
// docs/hypercall-abi.md).
#pragma once

namespace shype::hv {

// Per-domain grants and mappings. Filled in by the grant-table implementation.
struct GrantTable {};

}  // namespace shype::hv
