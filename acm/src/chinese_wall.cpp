#include "acm/chinese_wall.hpp"

#include <algorithm>
#include <cassert>

namespace shype::acm {
namespace {

Status check_chwall_rows(const TypeSets& sets, std::uint32_t type_count, const char* what) {
  for (std::uint32_t r = 0; r < sets.rows(); ++r) {
    const auto row = sets.row(r);
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (row[i] >= type_count || (i > 0 && row[i] <= row[i - 1])) {
        return make_error(Errc::invalid_argument,
                          std::string(what) + " " + std::to_string(r) +
                              " is not a strictly ascending list of Chinese Wall types below " +
                              std::to_string(type_count));
      }
    }
  }
  return {};
}

// "'B-Bank'", or the bare index when the image carried no names.
std::string name_or_index(const std::vector<std::string>& names, std::uint32_t i) {
  if (i < names.size()) return "'" + names[i] + "'";
  return std::to_string(i);
}

}  // namespace

Result<ChineseWallIndex> ChineseWallIndex::build(const PolicyImage& image) {
  ChineseWallIndex index;
  if (!image.has_chwall()) {
    // No Chinese Wall component: every VM label runs with no CHWALL type.
    for (std::uint32_t i = 0; i < image.vm_label_count; ++i) {
      index.label_types_.add_row({});
      index.conflict_delta_.add_row({});
    }
    if (image.names) index.label_names_ = image.names->vm_labels;
    return index;
  }
  if (image.chwall_labels.rows() > kMaxRows || image.chwall_type_count > kMaxTypes ||
      image.conflict_sets.rows() > kMaxConflictSets) {
    return make_error(Errc::invalid_argument,
                      "Chinese Wall policy exceeds the limits of " + std::to_string(kMaxRows) +
                          " labels, " + std::to_string(kMaxTypes) + " types and " +
                          std::to_string(kMaxConflictSets) + " conflict sets");
  }
  const std::uint32_t type_count = image.chwall_type_count;
  if (auto s = check_chwall_rows(image.chwall_labels, type_count, "Chinese Wall label row"); !s) {
    return tl::unexpected(s.error());
  }
  if (auto s = check_chwall_rows(image.conflict_sets, type_count, "conflict set"); !s) {
    return tl::unexpected(s.error());
  }
  index.type_count_ = type_count;
  index.label_types_ = image.chwall_labels;
  index.conflict_sets_ = image.conflict_sets;

  // type -> conflict sets holding it (ascending, since sets are visited in order).
  std::vector<std::vector<std::uint32_t>> sets_of_type(type_count);
  for (std::uint32_t c = 0; c < index.conflict_sets_.rows(); ++c) {
    for (std::uint32_t t : index.conflict_sets_.row(c))
      sets_of_type[t].push_back(c);
  }
  index.sets_of_type_.reserve(type_count, index.conflict_sets_.entries());
  for (const auto& sets : sets_of_type)
    index.sets_of_type_.add_row(sets);

  // Conflict delta of each label: for every set meeting the label, every
  // type of the set outside the label, once per such set.
  std::vector<std::uint32_t> met_sets;
  std::vector<std::uint32_t> delta;
  for (std::uint32_t label = 0; label < index.label_types_.rows(); ++label) {
    const auto own = index.label_types_.row(label);
    met_sets.clear();
    for (std::uint32_t t : own) {
      const auto sets = index.sets_of_type_.row(t);
      met_sets.insert(met_sets.end(), sets.begin(), sets.end());
    }
    std::sort(met_sets.begin(), met_sets.end());
    met_sets.erase(std::unique(met_sets.begin(), met_sets.end()), met_sets.end());
    delta.clear();
    for (std::uint32_t c : met_sets) {
      for (std::uint32_t t : index.conflict_sets_.row(c)) {
        if (!std::binary_search(own.begin(), own.end(), t)) delta.push_back(t);
      }
    }
    index.conflict_delta_.add_row(delta);
  }

  if (image.names) {
    index.label_names_ = image.names->vm_labels;
    index.type_names_ = image.names->chwall_types;
    index.set_names_ = image.names->conflict_sets;
  }
  return index;
}

std::string ChineseWallIndex::label_name(std::uint32_t label) const {
  return name_or_index(label_names_, label);
}

std::string ChineseWallIndex::type_name(std::uint32_t type) const {
  return name_or_index(type_names_, type);
}

std::string ChineseWallIndex::conflict_set_name(std::uint32_t set) const {
  return name_or_index(set_names_, set);
}

ChineseWallState::ChineseWallState(const ChineseWallIndex& index)
    : index_(&index),
      running_types_(index.type_count(), 0),
      conflict_aggregate_(index.type_count(), 0),
      running_labels_(index.labels(), 0) {}

void ChineseWallState::commit(std::uint32_t label) noexcept {
  for (std::uint32_t t : index_->label_types(label))
    ++running_types_[t];
  for (std::uint32_t t : index_->conflict_delta(label))
    ++conflict_aggregate_[t];
  ++running_labels_[label];
}

bool ChineseWallState::try_start(std::uint32_t label) noexcept {
  if (!admissible(label)) return false;
  commit(label);
  return true;
}

Status ChineseWallState::start(std::uint32_t label) {
  if (try_start(label)) return {};
  const AdmissionExplanation why = explain_admission(label);
  return make_error(why.label_out_of_range ? Errc::invalid_argument : Errc::update_rejected,
                    denial_message(why));
}

void ChineseWallState::stop(std::uint32_t label) noexcept {
  const bool running = label < running_labels_.size() && running_labels_[label] > 0;
  assert(running && "ChineseWallState::stop of a label that is not running");
  if (!running) return;
  for (std::uint32_t t : index_->label_types(label))
    --running_types_[t];
  for (std::uint32_t t : index_->conflict_delta(label))
    --conflict_aggregate_[t];
  --running_labels_[label];
}

AdmissionExplanation ChineseWallState::explain_admission(std::uint32_t label) const {
  AdmissionExplanation why;
  why.label = label;
  if (label >= index_->labels()) {
    why.admissible = false;
    why.label_out_of_range = true;
    return why;
  }
  const auto own = index_->label_types(label);
  for (std::uint32_t t : own) {
    if (conflict_aggregate_[t] == 0) continue;
    why.admissible = false;
    why.blocked_type = t;
    // A positive aggregate means a running domain holds another type of a
    // set with t; report the first such set and its running types.
    for (std::uint32_t c : index_->sets_with_type(t)) {
      for (std::uint32_t other : index_->conflict_set_types(c)) {
        if (other != t && running_types_[other] > 0 &&
            !std::binary_search(own.begin(), own.end(), other)) {
          why.running_types.push_back(other);
        }
      }
      if (!why.running_types.empty()) {
        why.conflict_set = c;
        break;
      }
    }
    break;
  }
  return why;
}

std::string ChineseWallState::denial_message(const AdmissionExplanation& why) const {
  if (why.label_out_of_range) {
    return "Chinese Wall label " + std::to_string(why.label) + " is out of range (the policy has " +
           std::to_string(index_->labels()) + " labels)";
  }
  std::string text = "ACM_CHWALL_CONFLICT (0x103): Chinese Wall type ";
  text += why.blocked_type ? index_->type_name(*why.blocked_type) : std::string("?");
  text += " of label " + index_->label_name(why.label) + " conflicts with running type";
  if (why.running_types.size() > 1) text += "s";
  for (std::size_t i = 0; i < why.running_types.size(); ++i) {
    text += i == 0 ? " " : ", ";
    text += index_->type_name(why.running_types[i]);
  }
  if (why.conflict_set)
    text += " (conflict set " + index_->conflict_set_name(*why.conflict_set) + ")";
  return text;
}

Result<ChineseWallState> ChineseWallState::rebuild(const ChineseWallIndex& index,
                                                   std::span<const std::uint32_t> running_labels) {
  ChineseWallState state(index);
  for (std::uint32_t label : running_labels) {
    if (auto s = state.start(label); !s) return tl::unexpected(s.error());
  }
  return state;
}

}  // namespace shype::acm
