/// The version `berth --version` (and `berth-cli --version`) prints.
package let berthVersion = "0.1.0-dev"
