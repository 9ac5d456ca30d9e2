# The core split devices end to end (docs/devices.md): consoles on rings and
# the console daemon, xenstore with its permissions, `xm console` on the
# console socket, save/restore reconnection and the release of a domain's
# xenstore home, with guest_xs_probe under a real shype-hv and xend.
if(TARGET xm AND TARGET xend AND TARGET shype-hv AND TARGET guest_hello AND TARGET guest_counter
   AND TARGET guest_xs_probe)
  shype_xm_e2e_test(xm_devices_e2e_tests xm_devices_test.cpp GUESTS guest_xs_probe)
endif()
