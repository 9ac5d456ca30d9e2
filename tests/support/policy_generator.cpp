#include "policy_generator.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "acm/semantic_check.hpp"

namespace shype::acm::testing {
namespace {

using Rng = std::mt19937_64;

std::uint32_t uniform(Rng& rng, std::uint32_t lo, std::uint32_t hi) {
  return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng);
}

bool chance(Rng& rng, double p) {
  return std::bernoulli_distribution(p)(rng);
}

NamedItem named(std::string name) {
  return NamedItem{std::move(name), {}};
}

// Prefixes that sort before upper case, between cases, around '_' of
// __UNLABELED__ and after lower case, so that numbering order is exercised.
std::string odd_name(Rng& rng, const char* stem, std::uint32_t i) {
  static const char* const kPrefixes[] = {"", "A", "z", "_", "__", "0", "~", "Zz."};
  const char* prefix =
      kPrefixes[uniform(rng, 0, static_cast<std::uint32_t>(std::size(kPrefixes) - 1))];
  return std::string(prefix) + stem + std::to_string(i);
}

std::vector<std::uint32_t> sample(Rng& rng, std::uint32_t population, std::uint32_t count) {
  std::vector<std::uint32_t> all(population);
  for (std::uint32_t i = 0; i < population; ++i)
    all[i] = i;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(std::min(count, population));
  return all;
}

std::vector<NamedItem> pick(const std::vector<std::string>& names,
                            const std::vector<std::uint32_t>& which) {
  std::vector<NamedItem> out;
  out.reserve(which.size());
  for (std::uint32_t i : which)
    out.push_back(named(names[i]));
  return out;
}

void require_valid(const PolicyModel& m) {
  const Diagnostics d = check_policy(m);
  if (d.has_errors()) {
    throw std::logic_error("policy generator made an invalid policy:\n" + d.to_string());
  }
}

}  // namespace

PolicyModel random_policy(Rng& rng, const RandomPolicyShape& shape) {
  PolicyModel m;
  m.header.name = "random.p" + std::to_string(uniform(rng, 0, 1u << 20));
  m.header.version = {1, 0};

  const bool unlabeled = chance(rng, shape.unlabeled_probability);
  const bool has_chwall = shape.max_chwall_types > 0 && !chance(rng, shape.no_chwall_probability);
  // STE-only policies need an STE type; with Chinese Wall there may be none.
  const std::uint32_t ste_count =
      uniform(rng, has_chwall ? 0 : 1, std::max<std::uint32_t>(1, shape.max_ste_types));
  std::vector<std::string> ste_types;
  for (std::uint32_t i = 0; i < ste_count; ++i)
    ste_types.push_back(odd_name(rng, "ste", i));
  if (unlabeled && ste_count > 0 && chance(rng, 0.7)) ste_types[0] = std::string(kUnlabeled);
  m.ste = SimpleTypeEnforcementComponent{false, {}, {}};
  for (const auto& t : ste_types)
    m.ste->types.push_back(named(t));

  std::vector<std::string> cw_types;
  std::vector<std::vector<std::uint32_t>> sets;  // conflict sets as CHWALL type indexes
  if (has_chwall) {
    const std::uint32_t cw_count = uniform(rng, 1, shape.max_chwall_types);
    for (std::uint32_t i = 0; i < cw_count; ++i)
      cw_types.push_back(odd_name(rng, "cw", i));
    if (unlabeled && chance(rng, 0.5)) cw_types[0] = std::string(kUnlabeled);
    m.chwall = ChineseWallComponent{true, {}, {}, {}};
    for (const auto& t : cw_types)
      m.chwall->types.push_back(named(t));
    const std::uint32_t set_count = uniform(rng, 0, shape.max_conflict_sets);
    for (std::uint32_t c = 0; c < set_count; ++c) {
      const std::uint32_t size = uniform(
          rng, 1, std::max<std::uint32_t>(1, std::min(shape.max_conflict_set_size, cw_count)));
      sets.push_back(sample(rng, cw_count, size));
      // Names repeat on purpose: ezPolicy names every unnamed rule "RER".
      const std::string name = chance(rng, 0.3) ? "RER" : "set" + std::to_string(c);
      m.chwall->conflict_sets.push_back({name, pick(cw_types, sets.back()), {}});
    }
  }

  // A legal CHWALL type choice: never two types of one conflict set.
  auto chwall_choice = [&](std::uint32_t wanted) {
    std::vector<std::uint32_t> chosen;
    for (std::uint32_t t : sample(rng, static_cast<std::uint32_t>(cw_types.size()),
                                  static_cast<std::uint32_t>(cw_types.size()))) {
      if (chosen.size() >= wanted) break;
      const bool clashes = std::any_of(sets.begin(), sets.end(), [&](const auto& set) {
        const bool has_t = std::find(set.begin(), set.end(), t) != set.end();
        return has_t && std::any_of(chosen.begin(), chosen.end(), [&](std::uint32_t c) {
                 return std::find(set.begin(), set.end(), c) != set.end();
               });
      });
      if (!clashes) chosen.push_back(t);
    }
    return chosen;
  };
  auto ste_choice = [&]() {
    if (ste_count >= 5 && chance(rng, shape.big_label_probability)) {
      return sample(rng, ste_count, uniform(rng, 5, ste_count));
    }
    return sample(rng, ste_count, uniform(rng, 0, std::min(shape.max_types_per_label, ste_count)));
  };

  m.has_subject_labels = true;
  const std::uint32_t label_count =
      uniform(rng, 1, std::max<std::uint32_t>(1, shape.max_vm_labels));
  for (std::uint32_t i = 0; i < label_count; ++i) {
    Label l;
    l.name = odd_name(rng, "vm", i);
    l.ste_types = pick(ste_types, ste_choice());
    if (has_chwall) l.chwall_types = pick(cw_types, chwall_choice(uniform(rng, 0, 3)));
    m.vm_labels.push_back(std::move(l));
  }
  // The bootstrap label: often SystemManagement-like (every STE type), not always.
  Label& boot = m.vm_labels[uniform(rng, 0, label_count - 1)];
  if (chance(rng, 0.5)) {
    boot.ste_types.clear();
    for (const auto& t : ste_types)
      boot.ste_types.push_back(named(t));
  }
  m.bootstrap = named(boot.name);
  if (unlabeled) {
    Label l;
    l.name = std::string(kUnlabeled);
    l.ste_types = pick(ste_types, ste_choice());
    if (has_chwall) l.chwall_types = pick(cw_types, chwall_choice(uniform(rng, 0, 2)));
    m.vm_labels.insert(m.vm_labels.begin() + uniform(rng, 0, label_count), std::move(l));
  }

  if (ste_count > 0) {
    m.has_object_labels = true;
    const std::uint32_t resource_count = uniform(rng, 0, shape.max_resource_labels);
    for (std::uint32_t i = 0; i < resource_count; ++i) {
      Label l;
      // Resource labels may reuse VM label names: they are another name space.
      l.name = chance(rng, 0.3) ? m.vm_labels[uniform(rng, 0, label_count - 1)].name
                                : odd_name(rng, "res", i);
      if (std::any_of(m.resource_labels.begin(), m.resource_labels.end(),
                      [&](const Label& r) { return r.name == l.name; }) ||
          l.name == kUnlabeled) {
        continue;
      }
      l.ste_types = {named(ste_types[uniform(rng, 0, ste_count - 1)])};
      m.resource_labels.push_back(std::move(l));
    }
    if (unlabeled && chance(rng, 0.5)) {
      Label l;
      l.name = std::string(kUnlabeled);
      l.ste_types = {named(ste_types[uniform(rng, 0, ste_count - 1)])};
      m.resource_labels.push_back(std::move(l));
    }
  }
  require_valid(m);
  return m;
}

PolicyModel scaled_policy(std::uint32_t types, std::uint32_t labels, std::uint64_t seed) {
  Rng rng(seed);
  types = std::max<std::uint32_t>(types, 1);
  labels = std::max<std::uint32_t>(labels, 1);

  // Workloads in tree order: an organisation, then its departments.
  struct Workload {
    std::string name;
    std::uint32_t org;  // index of the organisation's workload
  };
  std::vector<Workload> workloads;
  std::vector<std::uint32_t> orgs;
  while (workloads.size() < types) {
    const auto org_index = static_cast<std::uint32_t>(workloads.size());
    const std::string org = "Org" + std::to_string(orgs.size());
    orgs.push_back(org_index);
    workloads.push_back({org, org_index});
    const std::uint32_t depts = uniform(rng, 0, 6);
    for (std::uint32_t d = 0; d < depts && workloads.size() < types; ++d) {
      workloads.push_back({org + ".Dept" + std::to_string(d), org_index});
    }
  }

  PolicyModel m;
  m.header.name = "scaled.p" + std::to_string(types) + "x" + std::to_string(labels);
  m.header.version = {1, 0};
  m.ste = SimpleTypeEnforcementComponent{false, {}, {}};
  m.chwall = ChineseWallComponent{true, {}, {}, {}};
  m.ste->types.push_back(named("SystemManagement"));
  m.chwall->types.push_back(named("SystemManagement"));
  for (const auto& w : workloads) {
    m.ste->types.push_back(named(w.name));
    m.chwall->types.push_back(named(w.name));
  }
  // Run-time exclusion rules over organisations: groups of 2 to 4.
  std::vector<std::uint32_t> shuffled = orgs;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (std::size_t i = 0; i + 1 < shuffled.size();) {
    const std::size_t size = std::min<std::size_t>(uniform(rng, 2, 4), shuffled.size() - i);
    ConflictSet set;
    set.name = "RER" + std::to_string(m.chwall->conflict_sets.size());
    for (std::size_t k = 0; k < size; ++k)
      set.types.push_back(named(workloads[shuffled[i + k]].name));
    m.chwall->conflict_sets.push_back(std::move(set));
    i += size;
  }

  m.has_subject_labels = true;
  m.bootstrap = named("SystemManagement");
  Label sys;
  sys.name = "SystemManagement";
  sys.ste_types = m.ste->types;
  sys.chwall_types = {named("SystemManagement")};
  m.vm_labels.push_back(std::move(sys));
  for (const auto& w : workloads) {
    if (m.vm_labels.size() >= labels) break;
    Label l;
    l.name = w.name;
    l.ste_types = {named(w.name)};
    const std::string& org = workloads[w.org].name;
    l.chwall_types = {named(org)};
    if (w.name != org) l.chwall_types.push_back(named(w.name));
    m.vm_labels.push_back(std::move(l));
  }
  // More labels than workloads: I/O-server-like labels serving one
  // organisation (its types and up to two of its departments).
  for (std::uint32_t k = 0; m.vm_labels.size() < labels; ++k) {
    const std::uint32_t org = orgs[k % orgs.size()];
    Label l;
    l.name = workloads[org].name + ".VIO" + std::to_string(k / orgs.size());
    l.ste_types = {named(workloads[org].name)};
    for (std::uint32_t w = org + 1; w < workloads.size() && workloads[w].org == org && w <= org + 2;
         ++w) {
      l.ste_types.push_back(named(workloads[w].name));
    }
    l.chwall_types = {named(workloads[org].name)};
    m.vm_labels.push_back(std::move(l));
  }

  m.has_object_labels = true;
  for (const auto& t : m.ste->types) {
    Label r;
    r.name = t.name;
    r.ste_types = {t};
    m.resource_labels.push_back(std::move(r));
  }
  require_valid(m);
  return m;
}

}  // namespace shype::acm::testing
