// The entries of the disk, vif, vtpm and access_control lists
// (toolstack/config/src/device_specs.cpp), and their written form.
#include <string>

#include <gtest/gtest.h>

#include "xmconfig/domain_config.hpp"

namespace shype::xmconfig {
namespace {

template <typename T>
std::string error_of(const Result<T>& r) {
  EXPECT_FALSE(r);
  if (r) return "";
  EXPECT_EQ(r.error().code, acm::Errc::invalid_argument);
  EXPECT_EQ(r.error().where.to_string(), "");  // the caller locates it
  return r.error().message;
}

TEST(DiskSpec, Forms) {
  auto plain = parse_disk_spec("phy:hda1,sda1,r");
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain,
            (DiskSpec{"phy:hda1", "sda1", false, DiskMedia::disk, DiskMode::read_only, {}}));

  auto backend = parse_disk_spec("phy:vg/lv,xvda,w,driverdom");
  ASSERT_TRUE(backend);
  EXPECT_EQ(backend->backend, "driverdom");
  auto keyed = parse_disk_spec("phy:vg/lv,xvda,w,backend=driverdom");
  ASSERT_TRUE(keyed);
  EXPECT_EQ(*keyed, *backend);

  auto hvm = parse_disk_spec(" file:/img/a.iso , ioemu:hdc:cdrom , r ");
  ASSERT_TRUE(hvm);
  EXPECT_EQ(hvm->uname, "file:/img/a.iso");
  EXPECT_TRUE(hvm->ioemu);
  EXPECT_EQ(hvm->dev, "hdc");
  EXPECT_EQ(hvm->media, DiskMedia::cdrom);

  auto explicit_disk = parse_disk_spec("phy:sdb,hdb:disk,w!");
  ASSERT_TRUE(explicit_disk);
  EXPECT_EQ(explicit_disk->media, DiskMedia::disk);
  EXPECT_EQ(explicit_disk->mode, DiskMode::force_write);

  auto tap = parse_disk_spec("tap:aio:/full/path/to/vmldisk,sda1,w");
  ASSERT_TRUE(tap);
  EXPECT_EQ(tap->uname, "tap:aio:/full/path/to/vmldisk");

  auto empty_cdrom = parse_disk_spec(",hdc:cdrom,r");
  ASSERT_TRUE(empty_cdrom);
  EXPECT_EQ(empty_cdrom->uname, "");
}

TEST(DiskSpec, Errors) {
  EXPECT_EQ(
      error_of(parse_disk_spec("phy:hda1,sda1")),
      "Invalid disk specifier: 'phy:hda1,sda1' (expected 'UNAME,DEV,MODE' or 'UNAME,DEV,MODE,BACKEND')");
  EXPECT_EQ(
      error_of(parse_disk_spec("a:b,c,r,d,e")),
      "Invalid disk specifier: 'a:b,c,r,d,e' (expected 'UNAME,DEV,MODE' or 'UNAME,DEV,MODE,BACKEND')");
  EXPECT_EQ(error_of(parse_disk_spec("phy:hda1,sda1,rw")),
            "disk 'phy:hda1,sda1,rw': mode must be r, w or w!, not 'rw'");
  EXPECT_EQ(
      error_of(parse_disk_spec("phy:hda1,sda1:floppy,r")),
      "disk 'phy:hda1,sda1:floppy,r': unknown device type ':floppy' (expected :cdrom or :disk)");
  EXPECT_EQ(
      error_of(parse_disk_spec("phy:hda1,/dev/sda1,r")),
      "disk 'phy:hda1,/dev/sda1,r': device '/dev/sda1' is not a device name such as xvda, sda1 or hdc (letters and digits)");
  EXPECT_EQ(
      error_of(parse_disk_spec("phy:hda1,,r")),
      "disk 'phy:hda1,,r': device '' is not a device name such as xvda, sda1 or hdc (letters and digits)");
  EXPECT_EQ(
      error_of(parse_disk_spec(",hdc,r")),
      "disk ',hdc,r': the device to export is missing (only a CD-ROM drive, 'DEV:cdrom', may be empty)");
  EXPECT_EQ(
      error_of(parse_disk_spec("/dev/hda1,sda1,r")),
      "disk '/dev/hda1,sda1,r': '/dev/hda1' is not a device to export such as phy:hda1, file:/path/disk.img or tap:aio:/path/disk.img");
  EXPECT_EQ(
      error_of(parse_disk_spec("phy:,sda1,r")),
      "disk 'phy:,sda1,r': 'phy:' is not a device to export such as phy:hda1, file:/path/disk.img or tap:aio:/path/disk.img");
  EXPECT_EQ(
      error_of(parse_disk_spec("phy:a,sda1,r,")),
      "disk 'phy:a,sda1,r,': backend '' is not a valid domain name (1 to 64 characters from A-Z a-z 0-9 _ - . : +)");
  EXPECT_EQ(
      error_of(parse_disk_spec("phy:a,sda1,r,backend=a b")),
      "disk 'phy:a,sda1,r,backend=a b': backend 'a b' is not a valid domain name (1 to 64 characters from A-Z a-z 0-9 _ - . : +)");
}

TEST(DiskSpec, FormatInvertsParse) {
  for (const char* spec : {"phy:hda1,sda1,r", "file:/a b/c.img,ioemu:hda,w", ",hdc:cdrom,r",
                           "tap:aio:/x,xvdb,w!,storage", "phy:sdb,ioemu:hdd:cdrom,r,5"}) {
    auto disk = parse_disk_spec(spec);
    ASSERT_TRUE(disk) << spec;
    EXPECT_EQ(format_disk_spec(*disk), spec);
  }
  EXPECT_EQ(format_disk_spec(*parse_disk_spec("phy:a,hdb:disk,w,backend=d")), "phy:a,hdb,w,d");
}

TEST(VifSpec, Forms) {
  auto empty = parse_vif_spec("");
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, VifSpec{});
  auto v = parse_vif_spec("mac=00:16:3E:F6:BB:B3, bridge=xenbr0,");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->mac, "00:16:3E:F6:BB:B3");
  EXPECT_EQ(v->bridge, "xenbr0");
  EXPECT_EQ(format_vif_spec(*v), "mac=00:16:3E:F6:BB:B3, bridge=xenbr0");
  auto eq = parse_vif_spec("script=vif-route arg=1");
  ASSERT_TRUE(eq);
  EXPECT_EQ(eq->script, "vif-route arg=1");
  EXPECT_EQ(format_vif_spec(VifSpec{}), "");
}

TEST(VifSpec, Errors) {
  EXPECT_EQ(error_of(parse_vif_spec("xenbr0")), "vif 'xenbr0': expected key=value, found 'xenbr0'");
  EXPECT_EQ(
      error_of(parse_vif_spec("policy=x")),
      "Invalid vif option: 'policy' in 'policy=x' (the options are type, mac, bridge, ip, script, backend, vifname, rate and model)");
  EXPECT_EQ(error_of(parse_vif_spec("bridge=a, bridge=b")),
            "vif 'bridge=a, bridge=b': bridge is given twice");
  EXPECT_EQ(error_of(parse_vif_spec("bridge=")), "vif 'bridge=': bridge is empty");
  EXPECT_EQ(
      error_of(parse_vif_spec("mac=00:16:3e:00:00")),
      "vif 'mac=00:16:3e:00:00': mac '00:16:3e:00:00' is not six hex octets such as 00:16:3E:F6:BB:B3");
  EXPECT_EQ(
      error_of(parse_vif_spec("mac=00-16-3e-00-00-01")),
      "vif 'mac=00-16-3e-00-00-01': mac '00-16-3e-00-00-01' is not six hex octets such as 00:16:3E:F6:BB:B3");
  EXPECT_EQ(
      error_of(parse_vif_spec("mac=01:16:3e:00:00:01")),
      "vif 'mac=01:16:3e:00:00:01': mac '01:16:3e:00:00:01' is a multicast address (the first octet must be even)");
  EXPECT_EQ(
      error_of(parse_vif_spec("backend=a/b")),
      "vif 'backend=a/b': backend 'a/b' is not a valid domain name (1 to 64 characters from A-Z a-z 0-9 _ - . : +)");
  EXPECT_EQ(error_of(parse_vif_spec("ip=1.2.3.4\t\x01")),
            "vif 'ip=1.2.3.4\t\x01': ip contains a control character");
}

TEST(VtpmSpec, FormsAndErrors) {
  auto both = parse_vtpm_spec("instance=1, backend=0");
  ASSERT_TRUE(both);
  EXPECT_EQ(*both, (VtpmSpec{1u, "0"}));
  EXPECT_EQ(format_vtpm_spec(*both), "instance=1, backend=0");
  auto none = parse_vtpm_spec("");
  ASSERT_TRUE(none);
  EXPECT_EQ(format_vtpm_spec(*none), "");
  EXPECT_EQ(
      error_of(parse_vtpm_spec("instance=1, type=x")),
      "Invalid vtpm specifier: 'instance=1, type=x' (expected 'instance=N, backend=DOMAIN', both optional)");
  EXPECT_EQ(
      error_of(parse_vtpm_spec("backend")),
      "Invalid vtpm specifier: 'backend' (expected 'instance=N, backend=DOMAIN', both optional)");
  EXPECT_EQ(error_of(parse_vtpm_spec("instance=VTPMD")),
            "vtpm 'instance=VTPMD': instance must be a number greater than 0, not 'VTPMD'");
  EXPECT_EQ(error_of(parse_vtpm_spec("instance=-1")),
            "vtpm 'instance=-1': instance must be a number greater than 0, not '-1'");
  EXPECT_EQ(
      error_of(parse_vtpm_spec("instance=4294967296")),
      "vtpm 'instance=4294967296': instance must be a number greater than 0, not '4294967296'");
  EXPECT_EQ(error_of(parse_vtpm_spec("instance=1,instance=2")),
            "vtpm 'instance=1,instance=2': instance is given twice");
  EXPECT_EQ(error_of(parse_vtpm_spec("backend=0,backend=1")),
            "vtpm 'backend=0,backend=1': backend is given twice");
}

TEST(AccessControlSpec, Reference21) {
  auto ac = parse_access_control("policy=mytest,label=A-Bank");
  ASSERT_TRUE(ac);
  EXPECT_EQ(*ac, (AccessControl{"mytest", "A-Bank"}));
  EXPECT_EQ(error_of(parse_access_control("a=1,b=2,c=3")),
            "Too many elements in access_control specifier: a=1,b=2,c=3");
  EXPECT_EQ(error_of(parse_access_control("policy=a,lbl=b")),
            "Invalid access_control specifier: policy=a,lbl=b");
}

TEST(Enums, Spellings) {
  EXPECT_EQ(to_string(DiskMode::force_write), "w!");
  EXPECT_EQ(disk_mode_from_string("w"), DiskMode::read_write);
  EXPECT_FALSE(disk_mode_from_string("W"));
  EXPECT_EQ(to_string(DiskMedia::cdrom), "cdrom");
  EXPECT_EQ(disk_media_from_string("disk"), DiskMedia::disk);
  EXPECT_EQ(to_string(ShutdownAction::rename_restart), "rename-restart");
  EXPECT_EQ(shutdown_action_from_string("preserve"), ShutdownAction::preserve);
  EXPECT_FALSE(shutdown_action_from_string("coredump-destroy"));
}

}  // namespace
}  // namespace shype::xmconfig
