// Placeholder until netback lands: no network driver.
#include "devices/backend_driver.hpp"

namespace shype::devices {
std::unique_ptr<BackendDriver> make_netback(DeviceLoop& /*loop*/) { return nullptr; }
}  // namespace shype::devices
