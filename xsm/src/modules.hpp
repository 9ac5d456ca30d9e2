// The modules behind the Xsm facade (xsm.cpp chooses one).
#pragma once

#include <memory>

#include "acm/error.hpp"
#include "xsm/audit.hpp"
#include "xsm/xsm.hpp"

namespace shype::xsm {

[[nodiscard]] std::unique_ptr<Xsm> make_dummy_module(const XsmConfig& config);
[[nodiscard]] acm::Result<std::unique_ptr<Xsm>> make_acm_module(const XsmConfig& config,
                                                                AuditLog& audit);

}  // namespace shype::xsm
