"""The shopper's inbox, push devices and the push sender; every domain may write here, it imports
no domain."""
