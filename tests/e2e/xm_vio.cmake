# A driver domain end to end (manual 10.3.4, docs/devices-block.md and
# docs/devices-net.md "Driver domains"): the guest_vio kernel serves its own
# disks to client domains with guest_disk and bridges the vifs of client
# domains with guest_net, under the example.vio policy.
if(TARGET xm AND TARGET xend AND TARGET shype-hv AND TARGET guest_vio AND TARGET guest_disk
   AND TARGET guest_net)
  shype_xm_e2e_test(xm_vio_e2e_tests xm_vio_test.cpp GUESTS guest_disk guest_vio guest_net)
endif()
