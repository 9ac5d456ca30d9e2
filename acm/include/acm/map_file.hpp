// Xen's .map file: the text written beside a Xen-format .bin that names what
// the binary only numbers (reference xen-acm-tools.md 2.5). Xen's format has
// no names, so for a Xen binary the map is where label and type names come
// from; the compact format carries them itself.
//
// Layout written (blank lines as Xen 3.3/3.4's compiler wrote them: one after
// the MAX-* block, one after PRIMARY/SECONDARY, one after each LABEL->SSID,
// SSID->TYPE and TYPE block, and one more at the end of the file):
//
//   POLICYREFERENCENAME    <name>
//   MAGIC                  0001debc
//   POLICFILE              <xml path>
//   BINARYFILE             <bin path>
//   MAX-CHWALL-TYPES       %08x     (CHWALL types)
//   MAX-CHWALL-SSIDS       %08x     (CHWALL rows; 1 if there is no CHWALL)
//   MAX-CHWALL-LABELS      %08x     (same)
//   MAX-STE-TYPES          %08x
//   MAX-STE-SSIDS          %08x     (STE rows; 1 if there is no STE)
//   MAX-STE-LABELS         %08x
//
//   PRIMARY                CHWALL | STE
//   SECONDARY              STE | CHWALL   or   SECONDARY             NULL
//                          (NULL also when the secondary has no types, as
//                          Xen's tools did; the NULL line has one space less)
//
//   LABEL->SSID ANY CHWALL %-20s %x       ssid 0 (vm label 0)
//   LABEL->SSID VM  CHWALL %-20s %x       VM labels 1..
//
//   LABEL->SSID ANY STE    %-20s %08x     ssid 0
//   LABEL->SSID VM  STE    %-20s %x       VM labels 1..
//   LABEL->SSID RES STE    %-20s %x       resource labels, ssid n..
//
//   SSID->TYPE CHWALL      %08x[ type...]  row 0 lists no types (as in Xen)
//
//   SSID->TYPE STE         %08x[ type...]
//
//   TYPE CHWALL            %-20s %d
//
//   TYPE STE               %-20s %d
//
// Component blocks are written only when the component is present (TYPE
// blocks only when it has types). Where Xen listed a label's types in XML
// order, shype lists them in type-index order (the image keeps no XML order).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "acm/error.hpp"
#include "acm/policy_image.hpp"
#include "acm/ssidref.hpp"

namespace shype::acm {

// The map text for an image. Precondition: image.names is set and
// validate_image(image) succeeds; otherwise throws std::invalid_argument.
[[nodiscard]] std::string write_map_file(const PolicyImage& image, std::string_view xml_path,
                                         std::string_view bin_path);

// Reads the names of a (Xen-format) image from its map and checks that the
// map describes this image: policy name, magic, MAX-* counts, PRIMARY and
// SECONDARY, every ssid and type index in range and named exactly once, VM
// label names equal in the CHWALL and STE blocks, and each SSID->TYPE line's
// types equal to the image's row. A mismatch is an error naming the line,
// e.g. "map file line 8: MAX-STE-TYPES is 00000008 but the policy has 7 STE
// types". Conflict sets are not in the map: they are named "set0", "set1"...
// Label 0 is named by the ANY lines (__UNLABELED__ when any block says so).
// For an image without CHWALL the map decides where VM rows end and resource
// rows begin, so vm_labels.size() may differ from image.vm_label_count (use
// attach_map_names to get a consistent image).
// Errors: Errc::malformed_binary.
[[nodiscard]] Result<PolicyNames> read_map_file(std::string_view text, const PolicyImage& image);

// read_map_file, then the image with those names and, for images without
// CHWALL, vm_label_count taken from the map; the result passes validate_image.
[[nodiscard]] Result<PolicyImage> attach_map_names(PolicyImage image, std::string_view text);

// One label as the map lists it, as xm needs for label <-> ssidref.
struct MapLabel {
  std::string name;
  char kind = 'V';  // 'A' ssid 0 (ANY: VM and resource), 'V' VM label, 'R' resource label
  Ssidref ssidref = 0;
  friend bool operator==(const MapLabel&, const MapLabel&) = default;
};

// Every label of an image with names: label 0 as 'A' (ssidref 0), VM labels
// 1.. as 'V' with ssidref (i << 16) | i, resource labels as 'R' with ssidref
// (row << 16) (numbering.hpp's convention). Precondition: image.names set.
[[nodiscard]] std::vector<MapLabel> map_labels(const PolicyImage& image);

// Xen's lookup: a VM label ('V') is searched among 'V' and 'A' entries, a
// resource label ('R') among 'R' and 'A'. Errors: Errc::not_found
// "Label '<l>' not found." or "Label '<l>' not unique in policy (policy
// error)"; Errc::invalid_argument for another kind.
[[nodiscard]] Result<Ssidref> find_label_ssidref(std::span<const MapLabel> labels,
                                                 std::string_view name, char kind);

}  // namespace shype::acm
