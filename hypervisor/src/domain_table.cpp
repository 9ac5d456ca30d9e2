#include "hv/domain_table.hpp"

namespace shype::hv {

std::optional<abi::domid_t> DomainTable::next_domid() const {
  return allocator_.peek([this](abi::domid_t id) { return domains_.count(id) != 0; });
}

Domain& DomainTable::insert(std::unique_ptr<Domain> domain) {
  const abi::domid_t id = domain->id;
  if (id != abi::kDomain0) allocator_.commit(id);
  auto& slot = domains_[id];
  slot = std::move(domain);
  return *slot;
}

void DomainTable::erase(abi::domid_t domid) {
  domains_.erase(domid);
}

Domain* DomainTable::find(abi::domid_t domid) const {
  const auto it = domains_.find(domid);
  return it == domains_.end() ? nullptr : it->second.get();
}

Domain* DomainTable::find_by_name(std::string_view name) const {
  for (const auto& [id, domain] : domains_) {
    if (domain->name == name) return domain.get();
  }
  return nullptr;
}

Domain* DomainTable::find_by_pid(pid_t pid) const {
  if (pid <= 0) return nullptr;
  for (const auto& [id, domain] : domains_) {
    if (domain->pid == pid && domain->process_alive) return domain.get();
  }
  return nullptr;
}

}  // namespace shype::hv
