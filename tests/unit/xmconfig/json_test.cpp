// DomainConfig as JSON (toolstack/config/src/json.cpp): the exact round trip
// and the strict reader.
#include "xmconfig/json.hpp"

#include <string>

#include <gtest/gtest.h>

namespace shype::xmconfig {
namespace {

using nlohmann::json;

DomainConfig full_config() {
  auto c = parse_domain_config(
      "name = 'web-1'\nkernel = '/boot/vmlinuz'\nramdisk = '/boot/initrd'\nmemory = 512\n"
      "vcpus = 2\n"
      "disk = ['phy:vg/web,xvda,w!', 'tap:aio:/img/d.img,ioemu:xvdb,r,storage', ',hdc:cdrom,r']\n"
      "vif = ['mac=00:16:3e:00:00:01, bridge=xenbr0, model=e1000', '']\n"
      "vtpm = ['instance=2, backend=0']\nroot = '/dev/xvda1 ro'\nextra = 'console=hvc0'\n"
      "dhcp = 'dhcp'\nhostname = 'web'\non_crash = 'preserve'\ncpus = '0-1'\ncpu_weight = 512\n"
      "cpu_cap = 50\nuuid = '6f5a2d30-0c1e-4c4a-9e8e-2b1c0d3e4f5a'\n"
      "access_control = ['policy=mytest,label=A-Bank']\n",
      "web.cfg");
  EXPECT_TRUE(c) << (c ? "" : c.error().to_string());
  return c ? *c : DomainConfig{};
}

std::string error_of(const json& j) {
  auto c = domain_config_from_json(j);
  EXPECT_FALSE(c) << j.dump();
  if (c) return "";
  EXPECT_EQ(c.error().code, acm::Errc::invalid_argument);
  return c.error().message;
}

TEST(DomainJson, RoundTripIsExact) {
  const DomainConfig c = full_config();
  const json j = to_json(c);
  auto back = domain_config_from_json(j);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, c);
  // Through text, as xend stores it.
  auto reread = domain_config_from_json(json::parse(j.dump()));
  ASSERT_TRUE(reread) << reread.error().to_string();
  EXPECT_EQ(*reread, c);
  EXPECT_EQ(to_json(*reread), j);
}

TEST(DomainJson, Layout) {
  const json j = to_json(full_config());
  EXPECT_EQ(j["name"], "web-1");
  EXPECT_EQ(j["memory"], 512);
  EXPECT_EQ(j["disks"][0], (json{{"uname", "phy:vg/web"},
                                 {"dev", "xvda"},
                                 {"ioemu", false},
                                 {"media", "disk"},
                                 {"mode", "w!"}}));
  EXPECT_EQ(j["disks"][1]["backend"], "storage");
  EXPECT_EQ(j["disks"][2]["media"], "cdrom");
  EXPECT_EQ(j["vifs"][0],
            (json{{"mac", "00:16:3e:00:00:01"}, {"bridge", "xenbr0"}, {"model", "e1000"}}));
  EXPECT_EQ(j["vifs"][1], json::object());
  EXPECT_EQ(j["vtpms"][0], (json{{"instance", 2}, {"backend", "0"}}));
  EXPECT_EQ(j["on_crash"], "preserve");
  EXPECT_EQ(j["cmdline"], "ip=:127.0.255.255:::web:eth0:dhcp root=/dev/xvda1 ro console=hvc0");
  EXPECT_EQ(j["access_control"], (json{{"policy", "mytest"}, {"label", "A-Bank"}}));
  const json minimal = to_json(*parse_domain_config("name='a'\nkernel='k'\n", "a.cfg"));
  EXPECT_FALSE(minimal.contains("ramdisk"));
  EXPECT_FALSE(minimal.contains("uuid"));
  EXPECT_FALSE(minimal.contains("cpus"));
  EXPECT_FALSE(minimal.contains("access_control"));
}

TEST(DomainJson, MissingKeysTakeTheDefaults) {
  auto c = domain_config_from_json(json{{"name", "a"}, {"kernel", "/k"}});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(*c, *parse_domain_config("name='a'\nkernel='/k'\n", "a.cfg"));
}

TEST(DomainJson, StrictReader) {
  const json good = to_json(full_config());
  auto with = [&](const std::string& pointer, json value) {
    json j = good;
    j[json::json_pointer(pointer)] = std::move(value);
    return j;
  };
  auto without = [&](const std::string& key) {
    json j = good;
    j.erase(key);
    return j;
  };
  EXPECT_EQ(error_of(json::array()), "domain record /: must be a JSON object");
  EXPECT_EQ(error_of(without("name")), "domain record /name: is required");
  EXPECT_EQ(error_of(without("kernel")), "domain record /kernel: is required");
  EXPECT_EQ(error_of(with("/colour", "red")), "domain record /colour: unknown key");
  EXPECT_EQ(error_of(with("/memory", "512")), "domain record /memory: must be an integer");
  EXPECT_EQ(error_of(with("/memory", 0)),
            "domain record /memory: memory must be between 1 and 65536 (MiB), not 0");
  EXPECT_EQ(
      error_of(with("/memory", 18446744073709551615ull)),
      "domain record /memory: memory must be between 1 and 65536 (MiB), not 9223372036854775807");
  EXPECT_EQ(error_of(with("/memory", 1.5)), "domain record /memory: must be an integer");
  EXPECT_EQ(error_of(with("/vcpus", 33)),
            "domain record /vcpus: vcpus must be between 1 and 32, not 33");
  EXPECT_EQ(error_of(with("/cpu_weight", 0)),
            "domain record /cpu_weight: cpu_weight must be between 1 and 65535, not 0");
  EXPECT_EQ(
      error_of(with("/cpu_cap", -1)),
      "domain record /cpu_cap: cpu_cap must be between 0 and 65535 (percent of one CPU; 0 means no cap), not -1");
  EXPECT_EQ(
      error_of(with("/name", "a b")),
      "domain record /name: name 'a b' is not a valid domain name (1 to 64 characters from A-Z a-z 0-9 _ - . : +)");
  EXPECT_EQ(error_of(with("/name", std::string("a\0b", 3))),
            "domain record /name: must be UTF-8 text without NUL characters");
  EXPECT_EQ(error_of(with("/extra", "\xff")),
            "domain record /extra: must be UTF-8 text without NUL characters");
  EXPECT_EQ(error_of(with("/ramdisk", "")),
            "domain record /ramdisk: must not be empty (leave the key out)");
  EXPECT_EQ(error_of(with("/dhcp", "dhcp")), "domain record /dhcp: must be true or false");
  EXPECT_EQ(error_of(with("/on_reboot", "reboot")),
            "domain record /on_reboot: must be destroy, restart, preserve or rename-restart");
  EXPECT_EQ(
      error_of(with("/cpus", "x")),
      "domain record /cpus: cpus 'x' is not a CPU list such as '0-3,^1' (CPU numbers 0 to 4095)");
  EXPECT_EQ(
      error_of(with("/uuid", "x")),
      "domain record /uuid: uuid 'x' is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits)");
  EXPECT_EQ(
      error_of(with("/cmdline", "quiet")),
      "domain record /cmdline: does not match the command line built from ip, root, nfs_* and extra ('ip=:127.0.255.255:::web:eth0:dhcp root=/dev/xvda1 ro console=hvc0')");
  EXPECT_EQ(error_of(with("/nfs_root", "/export")),
            "domain record /nfs_root: nfs_root needs nfs_server (the address of the NFS server)");
  EXPECT_EQ(error_of(with("/disks", json::object())), "domain record /disks: must be an array");
  EXPECT_EQ(error_of(with("/disks/0/mode", "rw")),
            "domain record /disks/0/mode: must be r, w or w!");
  EXPECT_EQ(error_of(with("/disks/0/media", "floppy")),
            "domain record /disks/0/media: must be disk or cdrom");
  EXPECT_EQ(error_of(with("/disks/0/ioemu", 1)),
            "domain record /disks/0/ioemu: must be true or false");
  EXPECT_EQ(error_of(with("/disks/0/uname", "phy:a,b")),
            "domain record /disks/0/uname: must not contain ','");
  EXPECT_EQ(
      error_of(with("/disks/0/dev", "sda 1")),
      "domain record /disks/0: disk 'phy:vg/web,sda 1,w!': device 'sda 1' is not a device name such as xvda, sda1 or hdc (letters and digits)");
  EXPECT_EQ(error_of(with("/disks/0/uname", " phy:a")),
            "domain record /disks/0: is not in canonical form (expected phy:a,xvda,w!)");
  EXPECT_EQ(
      error_of(with("/disks/1/dev", "xvda")),
      "domain record /disks: disk 'tap:aio:/img/d.img,ioemu:xvda,r,storage': device xvda is already used by 'phy:vg/web,xvda,w!'");
  EXPECT_EQ(error_of(with("/disks/0/speed", 1)), "domain record /disks/0/speed: unknown key");
  EXPECT_EQ(
      error_of(with("/vifs/0/mac", "01:00:00:00:00:00")),
      "domain record /vifs/0: vif 'mac=01:00:00:00:00:00, bridge=xenbr0, model=e1000': mac '01:00:00:00:00:00' is a multicast address (the first octet must be even)");
  EXPECT_EQ(error_of(with("/vifs/0/bridge", "")),
            "domain record /vifs/0/bridge: must not be empty (leave the key out)");
  EXPECT_EQ(error_of(with("/vifs/0/bridge", "a,b")),
            "domain record /vifs/0/bridge: must not contain ','");
  EXPECT_EQ(error_of(with("/vtpms/0/instance", 0)),
            "domain record /vtpms/0/instance: must be a number greater than 0");
  EXPECT_EQ(error_of(with("/vtpms/1", json::object())),
            "domain record /vtpms: vtpm: a domain has at most one virtual TPM (found 2 entries)");
  EXPECT_EQ(error_of(with("/access_control/label", "a,b")),
            "domain record /access_control/label: must not contain ','");
  EXPECT_EQ(
      error_of(with("/access_control/label", " A-Bank")),
      "domain record /access_control: is not in canonical form (expected policy=mytest,label=A-Bank)");
  EXPECT_EQ(error_of(with("/access_control/type", "ACM")),
            "domain record /access_control/type: unknown key");
  json no_label = good;
  no_label["access_control"].erase("label");
  EXPECT_EQ(error_of(no_label), "domain record /access_control: needs policy and label");
}

TEST(DomainJson, HandWrittenRecords) {
  // Signed and unsigned JSON integers are both integers.
  auto c =
      domain_config_from_json(json{{"name", "a"},
                                   {"kernel", "/k"},
                                   {"memory", std::int64_t{256}},
                                   {"vtpms", json::array({json{{"instance", std::int64_t{3}}}})}});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->memory, 256u);
  EXPECT_EQ(c->vtpms.at(0).instance, 3u);
}

TEST(DomainJson, UuidIsCanonicalised) {
  json j = to_json(full_config());
  j["uuid"] = "6F5A2D30-0C1E-4C4A-9E8E-2B1C0D3E4F5A";
  auto c = domain_config_from_json(j);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->uuid, "6f5a2d30-0c1e-4c4a-9e8e-2b1c0d3e4f5a");
}

}  // namespace
}  // namespace shype::xmconfig
