#!/bin/sh
# Runs inside a lab host at lab up, with the host's factory folder in /tmp/factory:
#   bin/*                 the lab's SIP tools (lab/tools), into /usr/local/bin
#   asterisk/*.conf       replace Debian's Asterisk configuration, then Asterisk starts
#   asterisk.conf.sed     edits Debian's asterisk.conf
#   geo/                  the lab's location database, into /usr/local/share/voipguard-lab/geo
#   addresses             extra addresses of the host: "DEVICE ADDRESS/PREFIX" per line
#   alert-receiver        "ADDRESS PORT FILE": run voipguard-alert-receiver (the person alerts reach)
#   freepbx.conf          a FreePBX host: its marker files (freepbx.conf, amportal.conf, framework
#                         module.xml), its firewall switched on and loaded (firewall.nft, its
#                         external zone the interface that holds firewall-external's address;
#                         FreePBX 17's iptables form beside it, firewall.iptables/.ip6tables;
#                         fwconsole: a stand-in for its CLI); a pristine copy of asterisk/ is kept
#                         for lab/tools/voipguard-freepbx-apply-config
set -e
if [ -f /tmp/factory/freepbx.conf ]; then
  install -m 0640 /tmp/factory/freepbx.conf /etc/freepbx.conf
  install -m 0640 /tmp/factory/amportal.conf /etc/amportal.conf
  install -D -m 0644 /tmp/factory/module.xml /var/www/html/admin/modules/framework/module.xml
  install -D -o asterisk -g asterisk -m 0644 /tmp/factory/asterisk/extensions.conf \
    /var/www/html/admin/modules/core/etc/extensions.conf
  mkdir -p /usr/local/share/voipguard-lab/freepbx
  cp -r /tmp/factory/asterisk /tmp/factory/amportal.conf /usr/local/share/voipguard-lab/freepbx/
  # FreePBX's firewall module switched on, its CLI played by a stand-in (see the script).
  install -m 0755 /tmp/factory/fwconsole /usr/local/sbin/fwconsole
  touch /etc/asterisk/firewall.enabled
  external=$(ip -o -4 addr show to "$(cat /tmp/factory/firewall-external)" | awk '{print $2; exit}')
  [ -n "$external" ] || { echo "no interface holds $(cat /tmp/factory/firewall-external)" >&2; exit 1; }
  # Where the module's commit() keeps the table it loaded.
  install -d -m 0750 /var/lib/asterisk/firewall
  sed "s/@EXTERNAL_IF@/$external/" /tmp/factory/firewall.nft >/var/lib/asterisk/firewall/fpbx.nft
  nft -f /var/lib/asterisk/firewall/fpbx.nft
  # FreePBX 17's form of the same firewall (iptables), for the tests that load it instead.
  for form in iptables ip6tables; do
    sed "s/@EXTERNAL_IF@/$external/" /tmp/factory/firewall.$form >/var/lib/asterisk/firewall/fpbx17.$form
  done
fi
if [ -d /tmp/factory/bin ]; then
  install -m 0755 /tmp/factory/bin/* /usr/local/bin/
fi
if [ -d /tmp/factory/asterisk ]; then
  cp /tmp/factory/asterisk/*.conf /etc/asterisk/
  if [ -f /tmp/factory/asterisk.conf.sed ]; then
    sed -i -f /tmp/factory/asterisk.conf.sed /etc/asterisk/asterisk.conf
  fi
  if [ -f /tmp/factory/freepbx.conf ]; then
    # As on a real FreePBX: extensions.conf is a link to core's copy.
    ln -sf /var/www/html/admin/modules/core/etc/extensions.conf /etc/asterisk/extensions.conf
  fi
  chown -R asterisk:asterisk /etc/asterisk
  chmod 640 /etc/asterisk/*.conf
  systemctl enable --now asterisk.service >/dev/null 2>&1
fi
if [ -d /tmp/factory/geo ]; then
  mkdir -p /usr/local/share/voipguard-lab
  cp -r /tmp/factory/geo /usr/local/share/voipguard-lab/
fi
if [ -f /tmp/factory/addresses ]; then
  while read -r device address; do ip addr add "$address" dev "$device"; done < /tmp/factory/addresses
fi
if [ -f /tmp/factory/alert-receiver ]; then
  # shellcheck disable=SC2046 # three words on purpose
  systemd-run --unit=voipguard-alert-receiver --property=Restart=always \
    /usr/local/bin/voipguard-alert-receiver $(cat /tmp/factory/alert-receiver) >/dev/null
fi
rm -rf /tmp/factory
