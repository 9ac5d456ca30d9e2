// Every domain the hypervisor knows, Domain-0 included, by id (ascending,
// as getdomaininfolist pages through them), with unique names and the id
// allocator. Domains are heap objects: a Domain& stays valid until erase().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "hv/domain.hpp"
#include "hv/domid_allocator.hpp"

namespace shype::hv {

class DomainTable {
 public:
  using Map = std::map<abi::domid_t, std::unique_ptr<Domain>>;

  // The id a new domain would get (see DomidAllocator); nothing reserved.
  [[nodiscard]] std::optional<abi::domid_t> next_domid() const;
  // Inserts; the domain's id and name must be free (checked by the caller).
  Domain& insert(std::unique_ptr<Domain> domain);
  void erase(abi::domid_t domid);

  [[nodiscard]] Domain* find(abi::domid_t domid) const;
  [[nodiscard]] Domain* find_by_name(std::string_view name) const;
  [[nodiscard]] Domain* find_by_pid(pid_t pid) const;

  [[nodiscard]] std::uint32_t next_serial() noexcept { return ++serial_; }
  [[nodiscard]] const Map& all() const noexcept { return domains_; }
  [[nodiscard]] std::size_t size() const noexcept { return domains_.size(); }

 private:
  Map domains_;
  DomidAllocator allocator_;
  std::uint32_t serial_ = 0;
};

}  // namespace shype::hv
