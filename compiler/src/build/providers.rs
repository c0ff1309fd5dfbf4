//! How much user-data each cloud accepts, and how it counts it.
//!
//! Some APIs count the bytes as sent (base64 text), others the decoded bytes;
//! some take gzip (cloud-init unpacks it), one only plain text. [`PROVIDERS`] is
//! the one table of these facts, each with its source.

/// How a provider counts the bytes of one user-data payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// The bytes themselves.
    Raw,
    /// The payload's base64 text (4 characters per 3 bytes).
    Base64,
}

impl Counted {
    pub fn size(self, bytes: usize) -> usize {
        match self {
            Counted::Raw => bytes,
            Counted::Base64 => bytes.div_ceil(3) * 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provider {
    /// The `--provider` name.
    pub name: &'static str,
    pub title: &'static str,
    /// The limit in bytes, and how it is written in the provider's documentation.
    pub limit: usize,
    pub limit_text: &'static str,
    /// How a plain-text payload is counted.
    pub plain: Counted,
    /// How a gzip payload is counted; `None` when the provider takes plain text only.
    pub gzip: Option<Counted>,
    pub source: &'static str,
}

pub const PROVIDERS: &[Provider] = &[
    Provider {
        name: "aws",
        title: "AWS",
        limit: 16 * 1024,
        limit_text: "16 KB",
        plain: Counted::Raw,
        gzip: Some(Counted::Raw),
        source: "AWS EC2 User Guide, \"Work with instance user data\": \"User data is limited to 16 KB, in raw form, before it is base64-encoded\"",
    },
    Provider {
        name: "hetzner",
        title: "Hetzner",
        limit: 32 * 1024,
        limit_text: "32 KiB",
        plain: Counted::Raw,
        // The field is a JSON string: gzip goes as base64, which cloud-init's
        // Hetzner datasource decodes.
        gzip: Some(Counted::Base64),
        source: "Hetzner Cloud API, \"Create a Server\", user_data: \"This field is limited to 32KiB\"",
    },
    Provider {
        name: "openstack",
        title: "OpenStack",
        limit: 65535,
        limit_text: "64 KiB base64 (~48 KiB raw)",
        plain: Counted::Base64,
        gzip: Some(Counted::Base64),
        source: "OpenStack Nova, \"Provide user data to instances\": \"The provided user data must be base64 encoded and is restricted to 65535 bytes\"",
    },
    Provider {
        name: "azure",
        title: "Azure",
        limit: 65535,
        limit_text: "64 KB",
        plain: Counted::Raw,
        gzip: Some(Counted::Raw),
        source: "Azure Compute API, OSProfile.customData: \"The maximum length of the binary array is 65535 bytes\"",
    },
    Provider {
        name: "digitalocean",
        title: "DigitalOcean",
        limit: 64 * 1024,
        limit_text: "64 KiB, plain text only",
        plain: Counted::Raw,
        gzip: None,
        source: "DigitalOcean API, \"Create a Droplet\", user_data: \"It must be plain text and may not exceed 64 KiB in size\"",
    },
    Provider {
        name: "gcp",
        title: "GCP",
        limit: 256 * 1024,
        limit_text: "256 KiB",
        plain: Counted::Raw,
        // gzip goes as base64 with the metadata key `user-data-encoding: base64`.
        gzip: Some(Counted::Base64),
        source: "Compute Engine API, Metadata.items[].value: \"size must be less than or equal to 262144 bytes (256 KiB)\"",
    },
];

pub fn find(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.name == name)
}

pub fn names() -> Vec<&'static str> {
    PROVIDERS.iter().map(|p| p.name).collect()
}

/// Whether a payload fits a provider, plain or only gzipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Plain,
    OnlyGzipped,
    No,
}

impl Provider {
    pub fn fit(&self, plain_bytes: usize, gzip_bytes: usize) -> Fit {
        if self.plain.size(plain_bytes) <= self.limit {
            Fit::Plain
        } else if self
            .gzip
            .is_some_and(|counted| counted.size(gzip_bytes) <= self.limit)
        {
            Fit::OnlyGzipped
        } else {
            Fit::No
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_as_the_providers_do() {
        let aws = find("aws").unwrap();
        assert_eq!(aws.fit(16384, 1), Fit::Plain);
        assert_eq!(aws.fit(16385, 16384), Fit::OnlyGzipped);
        assert_eq!(aws.fit(16385, 16385), Fit::No);
        let openstack = find("openstack").unwrap();
        // 65535 base64 characters carry 49149 bytes at most.
        assert_eq!(openstack.fit(49149, 1), Fit::Plain);
        assert_eq!(openstack.fit(49150, 49149), Fit::OnlyGzipped);
        let digitalocean = find("digitalocean").unwrap();
        assert_eq!(digitalocean.fit(70000, 10), Fit::No);
        assert!(PROVIDERS.iter().all(|p| find(p.name) == Some(p)));
    }

    #[test]
    fn every_provider_is_a_cloud_of_the_model() {
        // `--provider` sets the model's cloud; a provider without one would be ignored.
        for provider in PROVIDERS {
            let cloud = crate::model::Cloud::parse(provider.name)
                .unwrap_or_else(|| panic!("provider `{}` is no cloud", provider.name));
            assert_eq!(cloud.as_str(), provider.name);
        }
    }
}
