#include "acm/xml/policy_writer.hpp"

#include <memory>
#include <new>

#include <libxml/xmlwriter.h>

#include "libxml_document.hpp"

namespace shype::acm::xml {
namespace {

struct XmlBufferFree {
  void operator()(xmlBuffer* buffer) const noexcept { xmlBufferFree(buffer); }
};
struct XmlWriterFree {
  void operator()(xmlTextWriter* writer) const noexcept { xmlFreeTextWriter(writer); }
};

// A thin layer over xmlTextWriter. Its calls fail only when memory runs out
// (the output is an in-memory buffer), so every failure is std::bad_alloc.
class Writer {
 public:
  explicit Writer(xmlTextWriter* writer) : writer_(writer) {}

  void start(const char* element) {
    check(xmlTextWriterStartElement(writer_, detail::xml_chars(element)));
  }
  void end() { check(xmlTextWriterEndElement(writer_)); }

  // Escaped character data (&, <, > and CR become references, so the text
  // reads back exactly).
  void text(const std::string& value) {
    check(xmlTextWriterWriteString(writer_, detail::xml_chars(value.c_str())));
  }

  void text_element(const char* element, const std::string& value) {
    start(element);
    text(value);
    end();
  }

  void attribute(const char* name, const std::string& value) {
    check(xmlTextWriterWriteAttribute(writer_, detail::xml_chars(name),
                                      detail::xml_chars(value.c_str())));
  }

  void type_list(const char* element, const std::vector<NamedItem>& types) {
    start(element);
    for (const auto& t : types)
      text_element("Type", t.name);
    end();
  }

  static void check(int rc) {
    if (rc < 0) throw std::bad_alloc();
  }

 private:
  xmlTextWriter* writer_;
};

void write_header(Writer& w, const PolicyHeader& h) {
  w.start("PolicyHeader");
  w.text_element("PolicyName", h.name);
  if (h.url) w.text_element("PolicyUrl", *h.url);
  if (h.reference) w.text_element("Reference", *h.reference);
  if (h.date) w.text_element("Date", *h.date);
  if (h.namespace_url) w.text_element("NameSpaceUrl", *h.namespace_url);
  w.text_element("Version", h.version.to_string());
  if (h.from_policy) {
    w.start("FromPolicy");
    w.text_element("PolicyName", h.from_policy->name);
    w.text_element("Version", h.from_policy->version.to_string());
    w.end();
  }
  w.end();
}

void write_priority(Writer& w, bool primary) {
  if (primary) w.attribute("priority", "PrimaryPolicyComponent");
}

void write_ste(Writer& w, const SimpleTypeEnforcementComponent& ste) {
  w.start("SimpleTypeEnforcement");
  write_priority(w, ste.primary);
  w.type_list("SimpleTypeEnforcementTypes", ste.types);
  w.end();
}

void write_chwall(Writer& w, const ChineseWallComponent& chwall) {
  w.start("ChineseWall");
  write_priority(w, chwall.primary);
  w.type_list("ChineseWallTypes", chwall.types);
  if (!chwall.conflict_sets.empty()) {
    w.start("ConflictSets");
    for (const auto& set : chwall.conflict_sets) {
      w.start("Conflict");
      w.attribute("name", set.name);
      for (const auto& t : set.types)
        w.text_element("Type", t.name);
      w.end();
    }
    w.end();
  }
  w.end();
}

void write_label(Writer& w, const char* element, const Label& label) {
  w.start(element);
  w.start("Name");
  if (label.from) w.attribute("from", *label.from);
  w.text(label.name);
  w.end();
  if (!label.ste_types.empty()) w.type_list("SimpleTypeEnforcementTypes", label.ste_types);
  if (!label.chwall_types.empty()) w.type_list("ChineseWallTypes", label.chwall_types);
  w.end();
}

void write_labels(Writer& w, const PolicyModel& model) {
  w.start("SecurityLabelTemplate");
  if (model.has_subject_labels || !model.vm_labels.empty()) {
    w.start("SubjectLabels");
    w.attribute("bootstrap", model.bootstrap.name);
    for (const auto& label : model.vm_labels)
      write_label(w, "VirtualMachineLabel", label);
    w.end();
  }
  if (model.has_object_labels || !model.resource_labels.empty()) {
    w.start("ObjectLabels");
    for (const auto& label : model.resource_labels)
      write_label(w, "ResourceLabel", label);
    w.end();
  }
  w.end();
}

}  // namespace

std::string write_policy(const PolicyModel& model) {
  detail::ensure_libxml_initialised();
  detail::SilenceGenericErrors silence;

  // The buffer must outlive the writer, which flushes into it when freed.
  std::unique_ptr<xmlBuffer, XmlBufferFree> buffer(xmlBufferCreate());
  if (!buffer) throw std::bad_alloc();
  std::unique_ptr<xmlTextWriter, XmlWriterFree> writer(xmlNewTextWriterMemory(buffer.get(), 0));
  if (!writer) throw std::bad_alloc();

  Writer::check(xmlTextWriterSetIndent(writer.get(), 1));
  Writer::check(xmlTextWriterSetIndentString(writer.get(), detail::xml_chars("    ")));
  Writer::check(xmlTextWriterStartDocument(writer.get(), "1.0", "UTF-8", nullptr));

  Writer w(writer.get());
  // Children inherit the default namespace declared here.
  Writer::check(xmlTextWriterStartElementNS(
      writer.get(), nullptr, detail::xml_chars("SecurityPolicyDefinition"),
      detail::xml_chars(std::string(kPolicyNamespace).c_str())));
  write_header(w, model.header);
  if (model.ste) write_ste(w, *model.ste);
  if (model.chwall) write_chwall(w, *model.chwall);
  write_labels(w, model);
  w.end();
  Writer::check(xmlTextWriterEndDocument(writer.get()));
  writer.reset();  // flushes

  const int length = xmlBufferLength(buffer.get());
  const std::string_view content = detail::view(xmlBufferContent(buffer.get()));
  return std::string(content.substr(0, static_cast<std::size_t>(length < 0 ? 0 : length)));
}

}  // namespace shype::acm::xml
