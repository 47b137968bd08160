// GenesisKit: the library a program depends on. One import gives every layer (formats, the
// network as data, the runtime, training, volumes, the zoo) and the workflows the `genesis`
// commands are made of, so a command file only parses its options and calls these.
@_exported import FormatNames
@_exported import GenesisIO
@_exported import GenesisModel
@_exported import HDF5Sandbox
@_exported import Inference
@_exported import ONNXFormat
@_exported import Pretext
@_exported import Runtime3D
@_exported import Tensors
@_exported import Training
@_exported import VolumeIO
@_exported import Zoo

/// A refusal of a workflow's input or settings (not of a file format, whose modules have their
/// own errors): the file or option it is about and what is wrong, in one line.
public struct WorkflowError: Error, CustomStringConvertible, Equatable {
    /// The file or option the refusal is about.
    public let subject: String
    public let message: String
    public init(subject: String, message: String) {
        self.subject = subject
        self.message = message
    }
    public var description: String { "\(subject): \(message)" }
}
