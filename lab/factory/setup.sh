#!/bin/sh
# Runs inside an Asterisk lab host at lab up, with the host's factory folder in /tmp/factory:
# its asterisk/*.conf replace Debian's, and asterisk.conf.sed (if any) edits Debian's asterisk.conf.
set -e
cp /tmp/factory/asterisk/*.conf /etc/asterisk/
if [ -f /tmp/factory/asterisk.conf.sed ]; then
  sed -i -f /tmp/factory/asterisk.conf.sed /etc/asterisk/asterisk.conf
fi
chown -R asterisk:asterisk /etc/asterisk
chmod 640 /etc/asterisk/*.conf
rm -rf /tmp/factory
systemctl enable --now asterisk.service >/dev/null 2>&1
