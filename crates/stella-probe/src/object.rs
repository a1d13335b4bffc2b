//! The probe object types and what the server needs to know about each besides its fields.

use crate::field::FieldSpec;
use crate::tables;

/// One object type under `/rest/appliances/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectType {
    StamusAppliance,
    StamusApplianceTemplate,
    SuricataAppliance,
    /// The read-only union of Stamus and Suricata probes.
    Appliances,
    StamusDevice,
    NetworkInterface,
    Protocol,
}

impl ObjectType {
    pub const ALL: [ObjectType; 7] = [
        ObjectType::StamusAppliance,
        ObjectType::StamusApplianceTemplate,
        ObjectType::SuricataAppliance,
        ObjectType::Appliances,
        ObjectType::StamusDevice,
        ObjectType::NetworkInterface,
        ObjectType::Protocol,
    ];

    /// The last path segment: `/rest/appliances/<name>/`.
    pub fn name(self) -> &'static str {
        match self {
            ObjectType::StamusAppliance => "stamus_appliance",
            ObjectType::StamusApplianceTemplate => "stamus_appliance_template",
            ObjectType::SuricataAppliance => "suricata_appliance",
            ObjectType::Appliances => "appliances",
            ObjectType::StamusDevice => "stamus_device",
            ObjectType::NetworkInterface => "network_interface",
            ObjectType::Protocol => "protocol",
        }
    }

    pub fn from_name(name: &str) -> Option<ObjectType> {
        ObjectType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The name Django REST framework would derive from the view set's class, before the
    /// ` List` / ` Instance` suffix of OPTIONS' `name`.
    pub fn verbose_name(self) -> &'static str {
        match self {
            ObjectType::StamusAppliance => "Stamus Appliance",
            ObjectType::StamusApplianceTemplate => "Stamus Appliance Template",
            ObjectType::SuricataAppliance => "Suricata Appliance",
            ObjectType::Appliances => "Appliances",
            ObjectType::StamusDevice => "Stamus Device",
            ObjectType::NetworkInterface => "Network Interface",
            ObjectType::Protocol => "Protocol",
        }
    }

    /// OPTIONS' `description` (a view set's docstring in Django REST framework).
    pub fn description(self) -> &'static str {
        match self {
            ObjectType::StamusAppliance => {
                "Stamus probes. A probe with parent_tmpl takes every configuration field from \
                 its template chain except those listed in overriden_fields."
            }
            ObjectType::StamusApplianceTemplate => {
                "Stamus probe templates. A change to a template shows at once in every probe \
                 and template that inherits it."
            }
            ObjectType::SuricataAppliance => "Suricata probes.",
            ObjectType::Appliances => {
                "Stamus and Suricata probes, read-only, with a type field naming which."
            }
            ObjectType::StamusDevice => "Stamus probes and the central server (pk 1), read-only.",
            ObjectType::NetworkInterface => {
                "Network interfaces of Stamus probes and templates, set through their \
                 interfaces field."
            }
            ObjectType::Protocol => {
                "Protocols of Stamus probes and templates, set through their protocols field."
            }
        }
    }

    /// The field table, in the order objects are rendered.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            ObjectType::StamusAppliance => tables::STAMUS_APPLIANCE,
            ObjectType::StamusApplianceTemplate => tables::STAMUS_APPLIANCE_TEMPLATE,
            ObjectType::SuricataAppliance => tables::SURICATA_APPLIANCE,
            ObjectType::Appliances => tables::APPLIANCES,
            ObjectType::StamusDevice => tables::STAMUS_DEVICE,
            ObjectType::NetworkInterface => tables::NETWORK_INTERFACE,
            ObjectType::Protocol => tables::PROTOCOL,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// Whether clients may create, change or delete objects of the type.
    pub fn writable(self) -> bool {
        !matches!(self, ObjectType::Appliances | ObjectType::StamusDevice)
    }

    /// Whether objects of the type can have a `parent_tmpl` (and inherit).
    pub fn has_templates(self) -> bool {
        self.field("parent_tmpl").is_some()
    }

    /// The fields taken from the template chain, in table order.
    pub fn inheritable_fields(self) -> impl Iterator<Item = &'static FieldSpec> {
        self.fields().iter().filter(|f| f.inheritable)
    }
}
