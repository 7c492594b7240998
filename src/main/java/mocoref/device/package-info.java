/**
 * What a float32 device is: {@link mocoref.device.Device}, the memory it owns and the operations
 * the float32 model ({@code mocoref.float32}) is written in. Devices: {@code mocoref.cpu},
 * {@code mocoref.opencl}.
 */
package mocoref.device;
