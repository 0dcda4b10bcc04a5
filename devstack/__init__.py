"""Docker-free local stand-ins for the Azure services the app uses, speaking their wire protocols."""
