"""The Routee sandbox: scripted outcomes picked by the destination's last digit."""
