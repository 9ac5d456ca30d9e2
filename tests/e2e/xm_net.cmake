# Network devices end to end (docs/devices-net.md): xm, xend, netback with
# its bridge and label control, and the guest_net kernel's netfront against
# a real shype-hv under a temporary SHYPE_ROOT with the mytest policy.
if(TARGET xm AND TARGET xend AND TARGET shype-hv AND TARGET guest_hello AND TARGET guest_net)
  shype_xm_e2e_test(xm_net_e2e_tests xm_net_test.cpp GUESTS guest_net)
endif()
