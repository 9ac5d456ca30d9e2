// Placeholder until blkback lands: no block driver.
#include "devices/backend_driver.hpp"

namespace shype::devices {
std::unique_ptr<BackendDriver> make_blkback(DeviceLoop& /*loop*/) { return nullptr; }
}  // namespace shype::devices
