// The typed view (toolstack/config/src/domain_config.cpp): defaults, the
// manual's examples, and the located error for each bad key.
#include "xmconfig/domain_config.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace shype::xmconfig {
namespace {

const std::string kMinimal = "kernel = '/boot/vmlinuz-2.6-xenU'\nname = 'dom'\n";

Result<DomainConfig> view(const std::string& text, std::vector<Override> overrides = {}) {
  return parse_domain_config(text, "dom.cfg", overrides);
}

DomainConfig ok(const std::string& text, std::vector<Override> overrides = {}) {
  auto config = view(text, std::move(overrides));
  EXPECT_TRUE(config) << text << "\n" << (config ? "" : config.error().to_string());
  return config ? *config : DomainConfig{};
}

std::string config_error_of(const std::string& text, std::vector<Override> overrides = {}) {
  auto config = view(text, std::move(overrides));
  EXPECT_FALSE(config) << text;
  if (config) return "";
  EXPECT_EQ(config.error().code, acm::Errc::invalid_argument);
  return config.error().to_string();
}

TEST(DomainConfig, Defaults) {
  const DomainConfig c = ok(kMinimal);
  EXPECT_EQ(c.name, "dom");
  EXPECT_EQ(c.kernel, "/boot/vmlinuz-2.6-xenU");
  EXPECT_FALSE(c.ramdisk);
  EXPECT_EQ(c.memory, 128u);
  EXPECT_EQ(c.vcpus, 1u);
  EXPECT_TRUE(c.disks.empty());
  EXPECT_TRUE(c.vifs.empty());
  EXPECT_TRUE(c.vtpms.empty());
  EXPECT_EQ(c.root, "");
  EXPECT_EQ(c.extra, "");
  EXPECT_EQ(c.cmdline, "");
  EXPECT_FALSE(c.dhcp);
  EXPECT_EQ(c.interface, "eth0");
  EXPECT_EQ(c.on_poweroff, ShutdownAction::destroy);
  EXPECT_EQ(c.on_reboot, ShutdownAction::restart);
  EXPECT_EQ(c.on_crash, ShutdownAction::restart);
  EXPECT_FALSE(c.cpus);
  EXPECT_EQ(c.cpu_weight, 256u);
  EXPECT_EQ(c.cpu_cap, 0u);
  EXPECT_FALSE(c.uuid);
  EXPECT_FALSE(c.access_control);
}

TEST(DomainConfig, ManualDomain1WithDisks) {
  const DomainConfig c =
      ok("kernel= \"/boot/vmlinuz-2.6.18.8-xen\"\n"
         "memory = 128\n"
         "name = \"domain1\"\n"
         "disk = ['file:/home/xen/dom_fc5/fedora.fc5.img,sda1,w', "
         "'file:/home/xen/dom_fc5/fedora.fc5.swap,sda2,w']\n"
         "access_control = ['policy=mytest,label=A-Bank']\n");
  EXPECT_EQ(c.name, "domain1");
  EXPECT_EQ(c.kernel, "/boot/vmlinuz-2.6.18.8-xen");
  ASSERT_EQ(c.disks.size(), 2u);
  EXPECT_EQ(c.disks[0].uname, "file:/home/xen/dom_fc5/fedora.fc5.img");
  EXPECT_EQ(c.disks[0].dev, "sda1");
  EXPECT_EQ(c.disks[0].mode, DiskMode::read_write);
  EXPECT_EQ(c.disks[1].uname, "file:/home/xen/dom_fc5/fedora.fc5.swap");
  EXPECT_EQ(c.disks[1].dev, "sda2");
  ASSERT_TRUE(c.access_control);
  EXPECT_EQ(c.access_control->policy, "mytest");
  EXPECT_EQ(c.access_control->label, "A-Bank");
  EXPECT_EQ(security_label(*c.access_control), "ACM:mytest:A-Bank");
}

TEST(DomainConfig, Xmexample2WithVmidOnTheCommandLine) {
  const std::string text =
      "kernel = \"/boot/vmlinuz-2.6-xenU\"\n"
      "memory = 64\n"
      "name = \"VM%d\" % vmid\n"
      "vif = [ 'mac=00:16:3E:F6:BB:B%d, bridge=xenbr0' % vmid ]\n"
      "disk = [ 'phy:hda%d,sda1,w' % (7+vmid), 'phy:hda6,sda6,r' ]\n"
      "root = \"/dev/sda1 ro\"\n"
      "extra = \"4 VMID=%d usr=/dev/sda6\" % vmid\n";
  const DomainConfig c = ok(text, {{"vmid", "3"}});
  EXPECT_EQ(c.name, "VM3");
  EXPECT_EQ(c.memory, 64u);
  ASSERT_EQ(c.vifs.size(), 1u);
  EXPECT_EQ(c.vifs[0].mac, "00:16:3E:F6:BB:B3");
  EXPECT_EQ(c.vifs[0].bridge, "xenbr0");
  ASSERT_EQ(c.disks.size(), 2u);
  EXPECT_EQ(c.disks[0].uname, "phy:hda10");
  EXPECT_EQ(c.disks[1].mode, DiskMode::read_only);
  EXPECT_EQ(c.cmdline, "root=/dev/sda1 ro 4 VMID=3 usr=/dev/sda6");
  // Any value can be overridden, including the standard ones (manual 4.2).
  EXPECT_EQ(ok(text, {{"vmid", "3"}, {"memory", "256"}}).memory, 256u);
}

TEST(DomainConfig, CommandLineValuesFitTheKey) {
  // A declaration that looks like an int is still the text typed for a string key,
  const DomainConfig c = ok(kMinimal, {{"cpus", "1"}, {"name", "007"}, {"extra", "+3"}});
  EXPECT_EQ(c.cpus, "1");
  EXPECT_EQ(c.name, "007");
  EXPECT_EQ(c.cmdline, "+3");
  // and a string is a one-element list for a list key.
  const DomainConfig d = ok(kMinimal + "disk = ['phy:hda1,sda1,w']\n",
                            {{"disk", "phy:hda2,sda2,r"},
                             {"vif", "bridge=xenbr1"},
                             {"access_control", "policy=mytest,label=A-Bank"}});
  ASSERT_EQ(d.disks.size(), 1u);
  EXPECT_EQ(d.disks[0].uname, "phy:hda2");
  ASSERT_EQ(d.vifs.size(), 1u);
  EXPECT_EQ(d.vifs[0].bridge, "xenbr1");
  EXPECT_EQ(d.access_control, (AccessControl{"mytest", "A-Bank"}));
  EXPECT_EQ(
      config_error_of(kMinimal, {{"disk", "phy:hda2,sda2"}}),
      "<command line>: Invalid disk specifier: 'phy:hda2,sda2' (expected 'UNAME,DEV,MODE' or 'UNAME,DEV,MODE,BACKEND')");
  // In the file, types are not converted.
  EXPECT_EQ(config_error_of(kMinimal + "cpus = 1\n"), "dom.cfg:3: cpus must be a string, not int");
}

TEST(DomainConfig, ManualVifExamples) {
  const DomainConfig c =
      ok(kMinimal + "vif = ['mac=00:16:3E:F6:BB:B3, bridge=xenbr0', 'bridge=xenbr1', '']\n");
  ASSERT_EQ(c.vifs.size(), 3u);
  EXPECT_EQ(c.vifs[0].mac, "00:16:3E:F6:BB:B3");
  EXPECT_EQ(c.vifs[0].bridge, "xenbr0");
  EXPECT_FALSE(c.vifs[1].mac);
  EXPECT_EQ(c.vifs[1].bridge, "xenbr1");
  EXPECT_EQ(c.vifs[2], VifSpec{});
  EXPECT_EQ(ok(kMinimal + "vif = ['mac=00:16:3E:F6:BB:B3']\n").vifs[0].mac, "00:16:3E:F6:BB:B3");
}

TEST(DomainConfig, ManualVtpmExamples) {
  const DomainConfig a = ok(kMinimal + "vtpm = ['instance=1, backend=0']\n");
  ASSERT_EQ(a.vtpms.size(), 1u);
  EXPECT_EQ(a.vtpms[0].instance, 1u);
  EXPECT_EQ(a.vtpms[0].backend, "0");
  const DomainConfig b = ok(kMinimal + "vtpm = ['backend=0']\n");
  ASSERT_EQ(b.vtpms.size(), 1u);
  EXPECT_FALSE(b.vtpms[0].instance);
  EXPECT_EQ(b.vtpms[0].backend, "0");
}

TEST(DomainConfig, ManualHvmDisks) {
  // Manual A.2 and A.3.2.
  const DomainConfig c =
      ok(kMinimal +
         "disk = ['file:/var/images/image1.img,ioemu:hda,w',\n"
         "        'phy:hda1,hdb1,w', 'file:/var/images/install1.iso,hdc:cdrom,r']\n");
  ASSERT_EQ(c.disks.size(), 3u);
  EXPECT_TRUE(c.disks[0].ioemu);
  EXPECT_EQ(c.disks[0].dev, "hda");
  EXPECT_EQ(c.disks[2].dev, "hdc");
  EXPECT_EQ(c.disks[2].media, DiskMedia::cdrom);
  EXPECT_EQ(c.disks[2].mode, DiskMode::read_only);
  const DomainConfig empty_cdrom =
      ok(kMinimal + "disk=['file:/var/images/your-hd.img,hda,w', ',hdc:cdrom,r' ]\nboot='d'\n");
  ASSERT_EQ(empty_cdrom.disks.size(), 2u);
  EXPECT_EQ(empty_cdrom.disks[1].uname, "");
  EXPECT_EQ(empty_cdrom.disks[1].media, DiskMedia::cdrom);
}

TEST(DomainConfig, EveryKey) {
  const DomainConfig c = ok(
      "name = 'web-1'\n"
      "kernel = '/boot/vmlinuz'\n"
      "ramdisk = '/boot/initrd'\n"
      "memory = 512\n"
      "vcpus = 4\n"
      "disk = ('phy:vg/web,xvda,w!', 'tap:aio:/img/data.img,xvdb,r,backend=storage')\n"
      "vif = ['type=ioemu, mac=00:16:3e:00:00:01, bridge=xenbr0, ip=10.0.0.2, script=vif-bridge, "
      "backend=netdom, vifname=web0, rate=10Mb/s, model=e1000']\n"
      "vtpm = ['instance=2,backend=0']\n"
      "root = 'root=/dev/xvda1 ro'\n"
      "extra = 'console=hvc0'\n"
      "on_poweroff = 'preserve'\n"
      "on_reboot = 'rename-restart'\n"
      "on_crash = 'destroy'\n"
      "cpus = '0-3,^1'\n"
      "cpu_weight = 512\n"
      "cpu_cap = 150\n"
      "uuid = '6F5A2D30-0C1E-4C4A-9E8E-2B1C0D3E4F5A'\n"
      "access_control = ['policy=mytest,label=B-Bank']\n"
      "bootloader = ''\n"
      "pci = ['01:00.0']\n"
      "custom = 7\n");
  EXPECT_EQ(c.ramdisk, "/boot/initrd");
  EXPECT_EQ(c.memory, 512u);
  EXPECT_EQ(c.vcpus, 4u);
  ASSERT_EQ(c.disks.size(), 2u);
  EXPECT_EQ(c.disks[0].mode, DiskMode::force_write);
  EXPECT_FALSE(c.disks[0].backend);
  EXPECT_EQ(c.disks[1].uname, "tap:aio:/img/data.img");
  EXPECT_EQ(c.disks[1].backend, "storage");
  ASSERT_EQ(c.vifs.size(), 1u);
  const VifSpec& v = c.vifs[0];
  EXPECT_EQ(v.type, "ioemu");
  EXPECT_EQ(v.ip, "10.0.0.2");
  EXPECT_EQ(v.script, "vif-bridge");
  EXPECT_EQ(v.backend, "netdom");
  EXPECT_EQ(v.vifname, "web0");
  EXPECT_EQ(v.rate, "10Mb/s");
  EXPECT_EQ(v.model, "e1000");
  EXPECT_EQ(c.vtpms.at(0).instance, 2u);
  EXPECT_EQ(c.cmdline, "root=/dev/xvda1 ro console=hvc0");
  EXPECT_EQ(c.on_poweroff, ShutdownAction::preserve);
  EXPECT_EQ(c.on_reboot, ShutdownAction::rename_restart);
  EXPECT_EQ(c.on_crash, ShutdownAction::destroy);
  EXPECT_EQ(c.cpus, "0-3,^1");
  EXPECT_EQ(c.cpu_weight, 512u);
  EXPECT_EQ(c.cpu_cap, 150u);
  EXPECT_EQ(c.uuid, "6f5a2d30-0c1e-4c4a-9e8e-2b1c0d3e4f5a");
  EXPECT_EQ(c.access_control, (AccessControl{"mytest", "B-Bank"}));
}

TEST(DomainConfig, EmptyOptionalStringsMeanUnset) {
  const DomainConfig c = ok(kMinimal + "ramdisk = ''\ncpus = ''\nuuid = ''\naccess_control = []\n");
  EXPECT_FALSE(c.ramdisk);
  EXPECT_FALSE(c.cpus);
  EXPECT_FALSE(c.uuid);
  EXPECT_FALSE(c.access_control);
}

TEST(DomainConfig, KernelCommandLine) {
  EXPECT_EQ(ok(kMinimal + "root = '/dev/sda1 ro'\n").cmdline, "root=/dev/sda1 ro");
  EXPECT_EQ(ok(kMinimal + "extra = 'single'\n").cmdline, "single");
  EXPECT_EQ(ok(kMinimal + "dhcp = 'dhcp'\n").cmdline, "ip=:127.0.255.255::::eth0:dhcp");
  EXPECT_EQ(ok(kMinimal + "ip = '10.0.0.5'\nnetmask = '255.255.255.0'\ngateway = '10.0.0.1'\n"
                          "hostname = 'vm1'\ninterface = 'eth1'\nroot = '/dev/nfs'\n"
                          "nfs_server = '10.0.0.9'\nnfs_root = '/export/vm1'\nextra = 'ro'\n")
                .cmdline,
            "ip=10.0.0.5:10.0.0.9:10.0.0.1:255.255.255.0:vm1:eth1:off root=/dev/nfs "
            "nfs=10.0.0.9:/export/vm1 ro");
  const DomainConfig off = ok(kMinimal + "dhcp = 'off'\n");
  EXPECT_FALSE(off.dhcp);
  EXPECT_EQ(off.cmdline, "");
}

// ---- errors ---------------------------------------------------------------------

TEST(DomainConfig, MissingNameOrKernel) {
  EXPECT_EQ(config_error_of("kernel = '/k'\n"),
            "dom.cfg: name is not set (every domain needs name = \"...\")");
  EXPECT_EQ(config_error_of("name = 'n'\n"),
            "dom.cfg: kernel is not set (every domain needs kernel = \"...\")");
  EXPECT_EQ(
      config_error_of("name = 'n'\nbootloader = '/usr/bin/pygrub'\n"),
      "dom.cfg: kernel is not set (bootloader is not supported; name the kernel image with kernel = \"...\")");
}

TEST(DomainConfig, WrongTypes) {
  EXPECT_EQ(config_error_of(kMinimal + "memory = '128'\n"),
            "dom.cfg:3: memory must be an integer, not str");
  EXPECT_EQ(config_error_of(kMinimal + "vcpus = [1]\n"), "dom.cfg:3: vcpus must be an integer, not list");
  EXPECT_EQ(config_error_of(kMinimal + "cpu_weight = 'x'\n"),
            "dom.cfg:3: cpu_weight must be an integer, not str");
  EXPECT_EQ(config_error_of(kMinimal + "cpu_cap = ()\n"),
            "dom.cfg:3: cpu_cap must be an integer, not tuple");
  EXPECT_EQ(config_error_of("name = 5\nkernel = 'k'\n"), "dom.cfg:1: name must be a string, not int");
  EXPECT_EQ(config_error_of("name = 'n'\nkernel = ['k']\n"),
            "dom.cfg:2: kernel must be a string, not list");
  EXPECT_EQ(config_error_of(kMinimal + "ramdisk = 1\n"), "dom.cfg:3: ramdisk must be a string, not int");
  EXPECT_EQ(config_error_of(kMinimal + "root = 1\n"), "dom.cfg:3: root must be a string, not int");
  EXPECT_EQ(config_error_of(kMinimal + "extra = 1\n"), "dom.cfg:3: extra must be a string, not int");
  EXPECT_EQ(config_error_of(kMinimal + "on_crash = 1\n"), "dom.cfg:3: on_crash must be a string, not int");
  EXPECT_EQ(config_error_of(kMinimal + "cpus = 2\n"), "dom.cfg:3: cpus must be a string, not int");
  EXPECT_EQ(config_error_of(kMinimal + "uuid = 1\n"), "dom.cfg:3: uuid must be a string, not int");
  EXPECT_EQ(config_error_of(kMinimal + "dhcp = 1\n"), "dom.cfg:3: dhcp must be a string, not int");
  for (const char* key : {"disk", "vif", "vtpm", "access_control"}) {
    EXPECT_EQ(config_error_of(kMinimal + key + " = 'x'\n"), "dom.cfg:3: " + std::string(key) +
                                                         " must be a list of strings, such as " +
                                                         key + " = ['...']");
    EXPECT_EQ(config_error_of(kMinimal + key + " = ['a', 1]\n"),
              "dom.cfg:3: " + std::string(key) + " must be a list of strings, such as " + key +
                  " = ['...']");
  }
  // An override of the wrong type is located on the command line.
  EXPECT_EQ(config_error_of(kMinimal, {{"memory", "lots"}}),
            "<command line>: memory must be an integer, not str");
}

TEST(DomainConfig, Ranges) {
  EXPECT_EQ(ok(kMinimal + "memory = 1\n").memory, 1u);
  EXPECT_EQ(ok(kMinimal + "memory = 65536\n").memory, 65536u);
  EXPECT_EQ(config_error_of(kMinimal + "memory = 0\n"),
            "dom.cfg:3: memory must be between 1 and 65536 (MiB), not 0");
  EXPECT_EQ(config_error_of(kMinimal + "memory = 65537\n"),
            "dom.cfg:3: memory must be between 1 and 65536 (MiB), not 65537");
  EXPECT_EQ(config_error_of(kMinimal + "memory = -9223372036854775807 - 1\n"),
            "dom.cfg:3: memory must be between 1 and 65536 (MiB), not -9223372036854775808");
  EXPECT_EQ(ok(kMinimal + "vcpus = 32\n").vcpus, 32u);
  EXPECT_EQ(config_error_of(kMinimal + "vcpus = 0\n"), "dom.cfg:3: vcpus must be between 1 and 32, not 0");
  EXPECT_EQ(config_error_of(kMinimal + "vcpus = 33\n"),
            "dom.cfg:3: vcpus must be between 1 and 32, not 33");
  EXPECT_EQ(ok(kMinimal + "cpu_weight = 65535\n").cpu_weight, 65535u);
  EXPECT_EQ(config_error_of(kMinimal + "cpu_weight = 0\n"),
            "dom.cfg:3: cpu_weight must be between 1 and 65535, not 0");
  EXPECT_EQ(config_error_of(kMinimal + "cpu_weight = 65536\n"),
            "dom.cfg:3: cpu_weight must be between 1 and 65535, not 65536");
  EXPECT_EQ(ok(kMinimal + "cpu_cap = 0\n").cpu_cap, 0u);
  EXPECT_EQ(ok(kMinimal + "cpu_cap = 400\n").cpu_cap, 400u);
  EXPECT_EQ(
      config_error_of(kMinimal + "cpu_cap = -1\n"),
      "dom.cfg:3: cpu_cap must be between 0 and 65535 (percent of one CPU; 0 means no cap), not -1");
}

TEST(DomainConfig, BadValues) {
  EXPECT_EQ(
      config_error_of("name = 'my vm'\nkernel = 'k'\n"),
      "dom.cfg:1: name 'my vm' is not a valid domain name (1 to 64 characters from A-Z a-z 0-9 _ - . : +)");
  EXPECT_EQ(
      config_error_of("name = ''\nkernel = 'k'\n"),
      "dom.cfg:1: name '' is not a valid domain name (1 to 64 characters from A-Z a-z 0-9 _ - . : +)");
  EXPECT_EQ(
      config_error_of("name = 'a/b'\nkernel = 'k'\n"),
      "dom.cfg:1: name 'a/b' is not a valid domain name (1 to 64 characters from A-Z a-z 0-9 _ - . : +)");
  EXPECT_EQ(config_error_of("name = '" + std::string(65, 'a') + "'\nkernel = 'k'\n").substr(0, 16),
            "dom.cfg:1: name ");
  EXPECT_EQ(config_error_of("name = 'n'\nkernel = ''\n"), "dom.cfg:2: kernel must not be empty");
  EXPECT_EQ(
      config_error_of(kMinimal + "on_poweroff = 'reboot'\n"),
      "dom.cfg:3: on_poweroff must be destroy, restart, preserve or rename-restart, not 'reboot'");
  EXPECT_EQ(
      config_error_of(kMinimal + "on_reboot = 'coredump'\n"),
      "dom.cfg:3: on_reboot must be destroy, restart, preserve or rename-restart, not 'coredump'");
  for (const char* cpus : {"a", "1-", "3-1", "^1-2", "-1", "0,,1", "4096", "+1"}) {
    EXPECT_EQ(config_error_of(kMinimal + "cpus = '" + cpus + "'\n"),
              "dom.cfg:3: cpus '" + std::string(cpus) +
                  "' is not a CPU list such as '0-3,^1' (CPU numbers 0 to 4095)");
  }
  EXPECT_TRUE(view(kMinimal + "cpus = '0, 2-3, ^3'\n"));
  for (const char* uuid :
       {"1234", "6f5a2d30-0c1e-4c4a-9e8e-2b1c0d3e4f5g", "6f5a2d300c1e-4c4a-9e8e-2b1c0d3e4f5a0"}) {
    EXPECT_EQ(config_error_of(kMinimal + "uuid = '" + uuid + "'\n"),
              "dom.cfg:3: uuid '" + std::string(uuid) +
                  "' is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits)");
  }
  EXPECT_EQ(config_error_of(kMinimal + "dhcp = 'yes'\n"),
            "dom.cfg:3: dhcp must be 'dhcp' or 'off', not 'yes'");
  EXPECT_EQ(config_error_of(kMinimal + "nfs_root = '/export'\n"),
            "dom.cfg:3: nfs_root needs nfs_server (the address of the NFS server)");
}

TEST(DomainConfig, DeviceErrorsAreLocatedAtTheList) {
  EXPECT_EQ(config_error_of(kMinimal + "disk = ['phy:hda1,sda1,w',\n        'phy:hda2,sda2,x']\n"),
            "dom.cfg:3: disk 'phy:hda2,sda2,x': mode must be r, w or w!, not 'x'");
  EXPECT_EQ(config_error_of(kMinimal + "disk = ['phy:hda1,sda1,w', 'phy:hda2,sda1,r']\n"),
            "dom.cfg:3: disk 'phy:hda2,sda1,r': device sda1 is already used by 'phy:hda1,sda1,w'");
  EXPECT_EQ(
      config_error_of(kMinimal + "vif = ['mac=00:16:3E:F6:BB:B3, color=red']\n"),
      "dom.cfg:3: Invalid vif option: 'color' in 'mac=00:16:3E:F6:BB:B3, color=red' (the options are type, mac, bridge, ip, script, backend, vifname, rate and model)");
  EXPECT_EQ(config_error_of(kMinimal + "vtpm = ['instance=1', 'instance=2']\n"),
            "dom.cfg:3: vtpm: a domain has at most one virtual TPM (found 2 entries)");
  EXPECT_EQ(
      config_error_of(kMinimal + "vtpm = ['instance=0, backend=0']\n"),
      "dom.cfg:3: vtpm 'instance=0, backend=0': instance must be a number greater than 0, not '0'");
}

TEST(DomainConfig, AccessControlMessagesOfReference21) {
  EXPECT_EQ(config_error_of(kMinimal + "access_control = ['policy=a,label=b', 'policy=c,label=d']\n"),
            "dom.cfg:3: Multiple access_control definitions.");
  EXPECT_EQ(config_error_of(kMinimal + "access_control = ['policy=a,label=b,type=c']\n"),
            "dom.cfg:3: Too many elements in access_control specifier: policy=a,label=b,type=c");
  EXPECT_EQ(config_error_of(kMinimal + "access_control = ['policy=a,colour=b']\n"),
            "dom.cfg:3: Invalid access_control specifier: policy=a,colour=b");
  EXPECT_EQ(config_error_of(kMinimal + "access_control = ['policy=a,label']\n"),
            "dom.cfg:3: Invalid access_control specifier: policy=a,label");
  EXPECT_EQ(
      config_error_of(kMinimal + "access_control = ['policy=a']\n"),
      "dom.cfg:3: Invalid access_control specifier: policy=a (it needs policy=<policy>,label=<label>)");
  EXPECT_EQ(
      config_error_of(kMinimal + "access_control = ['policy=a,policy=b']\n"),
      "dom.cfg:3: Invalid access_control specifier: policy=a,policy=b (it needs policy=<policy>,label=<label>)");
  EXPECT_EQ(
      config_error_of(kMinimal + "access_control = ['policy=,label=b']\n"),
      "dom.cfg:3: Invalid access_control specifier: policy=,label=b (it needs policy=<policy>,label=<label>)");
  const DomainConfig spaced =
      ok(kMinimal + "access_control = [' label = A-Bank , policy = mytest ']\n");
  EXPECT_EQ(spaced.access_control, (AccessControl{"mytest", "A-Bank"}));
}

TEST(DomainConfig, UnknownKeysAreKeptButIgnored) {
  auto file = parse_config(kMinimal + "vnc = 1\nsdl = 'maybe'\nconsole = [1, 2]\n", "dom.cfg");
  ASSERT_TRUE(file);
  EXPECT_NE(file->find("sdl"), nullptr);
  EXPECT_TRUE(domain_config(*file));
}

}  // namespace
}  // namespace shype::xmconfig
