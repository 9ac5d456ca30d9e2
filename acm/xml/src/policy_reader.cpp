#include "acm/xml/policy_reader.hpp"

#include <utility>

#include "libxml_document.hpp"
#include "text.hpp"

namespace shype::acm::xml {
namespace detail {
namespace {

bool in_policy_namespace(const xmlNode* node) {
  return node->ns != nullptr && view(node->ns->href) == kPolicyNamespace;
}

// Calls visit(child, local_name) for each child element in the policy
// namespace. Elements of other namespaces are not policy content; the schema
// validator reports them.
template <typename Visit>
void for_each_policy_child(const xmlNode* parent, Visit&& visit) {
  for (const xmlNode* child = parent->children; child != nullptr; child = child->next) {
    if (child->type != XML_ELEMENT_NODE || !in_policy_namespace(child)) continue;
    visit(child, view(child->name));
  }
}

// The character data directly inside an element (text and CDATA; comments
// and processing instructions are not content).
std::string raw_text(const xmlNode* node) {
  std::string text;
  for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) {
      text += view(child->content);
    }
  }
  return text;
}

// Names and types are xs:token. Figure 10.7 of the manual writes
// <Name from="A-Bank.SecurityUnderwriting"> A-Bank.SU</Name>, and the label
// it means is "A-Bank.SU". Xen 3.3 took element text verbatim, so that
// figure defined a label " A-Bank.SU" that no `xm addlabel A-Bank.SU` could
// ever name. Here the value is what the schema validator compares for
// keys and keyrefs: whitespace collapsed and trimmed.
std::string token_text(const xmlNode* node) {
  return collapse_whitespace(raw_text(node));
}

// An unqualified attribute (attributeFormDefault="unqualified").
std::optional<std::string> attribute(const xmlNode* node, const char* name) {
  // xmlGetNoNsProp takes a non-const node but only reads it.
  XmlCharPtr value(xmlGetNoNsProp(const_cast<xmlNode*>(node), xml_chars(name)));
  if (!value) return std::nullopt;
  return std::string(view(value.get()));
}

class ModelBuilder {
 public:
  ModelBuilder(const ParsedDocument& document, Diagnostics& problems)
      : document_(document), problems_(problems) {}

  Result<PolicyModel> build() {
    // libxml2's accessor takes a non-const document but only reads it.
    const xmlNode* root = xmlDocGetRootElement(const_cast<xmlDoc*>(document_.doc()));
    if (root == nullptr) {
      return make_error(Errc::xml_malformed, "document has no root element",
                        SourceLocation{document_.file(), 0, 0});
    }
    if (view(root->name) != "SecurityPolicyDefinition" || !in_policy_namespace(root)) {
      const std::string ns = root->ns != nullptr ? std::string(view(root->ns->href)) : "";
      Diagnostics d;
      d.error(at(root), "root element is '" + std::string(view(root->name)) + "' in namespace '" +
                            ns +
                            "'; a security policy is 'SecurityPolicyDefinition' in namespace '" +
                            std::string(kPolicyNamespace) + "'");
      return tl::unexpected(d.to_error(Errc::schema_violation));
    }
    model_.source_file = document_.file();
    // Until a PolicyHeader or SubjectLabels is seen, findings about them
    // point at the root.
    model_.header.where = at(root);
    model_.bootstrap.where = at(root);

    bool header_seen = false;
    for_each_policy_child(root, [&](const xmlNode* child, std::string_view name) {
      if (name == "PolicyHeader") {
        if (!header_seen) read_header(child);
        header_seen = true;
      } else if (name == "SimpleTypeEnforcement") {
        read_ste(child);
      } else if (name == "ChineseWall") {
        read_chwall(child);
      } else if (name == "SecurityLabelTemplate") {
        read_label_template(child);
      }
    });
    return std::move(model_);
  }

 private:
  SourceLocation at(const xmlNode* node) const { return document_.at(node); }

  PolicyVersion version_of(const xmlNode* node) {
    auto version = PolicyVersion::parse(token_text(node));
    if (!version) {
      problems_.error(at(node), version.error().message);
      return {};
    }
    return *version;
  }

  void read_header(const xmlNode* node) {
    PolicyHeader& h = model_.header;
    h.where = at(node);
    bool name_seen = false;
    bool version_seen = false;
    auto keep_first = [](std::optional<std::string>& field, const xmlNode* child) {
      if (!field) field = raw_text(child);
    };
    for_each_policy_child(node, [&](const xmlNode* child, std::string_view name) {
      if (name == "PolicyName") {
        if (!name_seen) h.name = token_text(child);
        name_seen = true;
      } else if (name == "PolicyUrl") {
        keep_first(h.url, child);
      } else if (name == "Reference") {
        keep_first(h.reference, child);
      } else if (name == "Date") {
        keep_first(h.date, child);
      } else if (name == "NameSpaceUrl") {
        keep_first(h.namespace_url, child);
      } else if (name == "Version") {
        if (!version_seen) h.version = version_of(child);
        version_seen = true;
      } else if (name == "FromPolicy" && !h.from_policy) {
        h.from_policy = read_from_policy(child);
      }
    });
  }

  FromPolicy read_from_policy(const xmlNode* node) {
    FromPolicy from;
    bool name_seen = false;
    bool version_seen = false;
    for_each_policy_child(node, [&](const xmlNode* child, std::string_view name) {
      if (name == "PolicyName") {
        if (!name_seen) from.name = token_text(child);
        name_seen = true;
      } else if (name == "Version") {
        if (!version_seen) from.version = version_of(child);
        version_seen = true;
      }
    });
    return from;
  }

  bool priority_of(const xmlNode* node) {
    auto value = attribute(node, "priority");
    if (!value) return false;
    const std::string token = collapse_whitespace(*value);
    if (token == "PrimaryPolicyComponent") return true;
    problems_.error(at(node), "priority '" + token + "' is not 'PrimaryPolicyComponent'");
    return false;
  }

  void read_types(const xmlNode* list, std::vector<NamedItem>& out) {
    for_each_policy_child(list, [&](const xmlNode* child, std::string_view name) {
      if (name == "Type") out.push_back(NamedItem{token_text(child), at(child)});
    });
  }

  void read_ste(const xmlNode* node) {
    if (!model_.ste) {
      model_.ste.emplace();
      model_.ste->where = at(node);
      model_.ste->primary = priority_of(node);
    }
    for_each_policy_child(node, [&](const xmlNode* child, std::string_view name) {
      if (name == "SimpleTypeEnforcementTypes") read_types(child, model_.ste->types);
    });
  }

  void read_chwall(const xmlNode* node) {
    if (!model_.chwall) {
      model_.chwall.emplace();
      model_.chwall->where = at(node);
      model_.chwall->primary = priority_of(node);
    }
    for_each_policy_child(node, [&](const xmlNode* child, std::string_view name) {
      if (name == "ChineseWallTypes") {
        read_types(child, model_.chwall->types);
      } else if (name == "ConflictSets") {
        for_each_policy_child(child, [&](const xmlNode* set_node, std::string_view set_name) {
          if (set_name != "Conflict") return;
          ConflictSet set;
          set.name = collapse_whitespace(attribute(set_node, "name").value_or(""));
          set.where = at(set_node);
          read_types(set_node, set.types);
          model_.chwall->conflict_sets.push_back(std::move(set));
        });
      }
    });
  }

  Label read_label(const xmlNode* node) {
    Label label;
    label.where = at(node);
    bool name_seen = false;
    for_each_policy_child(node, [&](const xmlNode* child, std::string_view name) {
      if (name == "Name") {
        if (!name_seen) {
          label.name = token_text(child);
          if (auto from = attribute(child, "from")) label.from = collapse_whitespace(*from);
        }
        name_seen = true;
      } else if (name == "SimpleTypeEnforcementTypes") {
        read_types(child, label.ste_types);
      } else if (name == "ChineseWallTypes") {
        // Kept for resource labels too, so that check_policy can say that a
        // resource label must not have them.
        read_types(child, label.chwall_types);
      }
    });
    return label;
  }

  void read_label_template(const xmlNode* node) {
    for_each_policy_child(node, [&](const xmlNode* child, std::string_view name) {
      if (name == "SubjectLabels") {
        if (!model_.has_subject_labels) {
          model_.bootstrap.name = collapse_whitespace(attribute(child, "bootstrap").value_or(""));
          model_.bootstrap.where = at(child);
        }
        model_.has_subject_labels = true;
        for_each_policy_child(child, [&](const xmlNode* label, std::string_view label_name) {
          if (label_name == "VirtualMachineLabel") model_.vm_labels.push_back(read_label(label));
        });
      } else if (name == "ObjectLabels") {
        model_.has_object_labels = true;
        for_each_policy_child(child, [&](const xmlNode* label, std::string_view label_name) {
          if (label_name == "ResourceLabel") model_.resource_labels.push_back(read_label(label));
        });
      }
    });
  }

  const ParsedDocument& document_;
  Diagnostics& problems_;
  PolicyModel model_;
};

}  // namespace

Result<PolicyModel> build_model(const ParsedDocument& document, Diagnostics& problems) {
  return ModelBuilder(document, problems).build();
}

}  // namespace detail

Result<PolicyModel> parse_policy(std::string_view xml_text, std::string_view file_name) {
  auto document = detail::parse_document(xml_text, file_name);
  if (!document) return tl::unexpected(std::move(document.error()));
  Diagnostics problems;
  auto model = detail::build_model(*document, problems);
  if (!model) return model;
  if (problems.has_errors()) return tl::unexpected(problems.to_error(Errc::schema_violation));
  return model;
}

}  // namespace shype::acm::xml
