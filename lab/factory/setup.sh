#!/bin/sh
# Runs inside a lab host at lab up, with the host's factory folder in /tmp/factory:
#   bin/*                 the lab's SIP tools (lab/tools), into /usr/local/bin
#   asterisk/*.conf       replace Debian's Asterisk configuration, then Asterisk starts
#   asterisk.conf.sed     edits Debian's asterisk.conf
#   geo/                  the lab's location database, into /usr/local/share/voipguard-lab/geo
#   addresses             extra addresses of the host: "DEVICE ADDRESS/PREFIX" per line
#   alert-receiver        "ADDRESS PORT FILE": run voipguard-alert-receiver (the person alerts reach)
set -e
if [ -d /tmp/factory/bin ]; then
  install -m 0755 /tmp/factory/bin/* /usr/local/bin/
fi
if [ -d /tmp/factory/asterisk ]; then
  cp /tmp/factory/asterisk/*.conf /etc/asterisk/
  if [ -f /tmp/factory/asterisk.conf.sed ]; then
    sed -i -f /tmp/factory/asterisk.conf.sed /etc/asterisk/asterisk.conf
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
