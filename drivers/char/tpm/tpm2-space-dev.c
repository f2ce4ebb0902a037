// SPDX-License-Identifier: GPL-2.0-only
/*
 * The /dev/tpmrmN character device of a TPM 2.0 chip.
 */

#include "tpm.h"
#include "tpm-dev.h"

/*
 * The device holds a reference to the chip for as long as a file of it
 * may still be open, so that closing a file after the chip was removed
 * never touches freed memory (CVE-2022-49287).
 */
static void tpm_devs_release(struct device *dev)
{
	struct tpm_chip *chip = container_of(dev, struct tpm_chip, devs);

	put_device(&chip->dev);
}

/**
 * tpm_devs_add() - create /dev/tpmrmN for a chip
 * @chip: a TPM 2.0 chip being registered
 *
 * Return: 0 or -errno.
 */
int tpm_devs_add(struct tpm_chip *chip)
{
	int rc;

	device_initialize(&chip->devs);
	chip->devs.parent = chip->dev.parent;
	chip->devs.class = &tpmrm_class;
	chip->devs.devt = MKDEV(MAJOR(tpm_devt),
				chip->dev_num + TPM_NUM_DEVICES);
	get_device(&chip->dev);
	chip->devs.release = tpm_devs_release;
	cdev_init(&chip->cdevs, &tpmrm_fops);
	chip->cdevs.owner = THIS_MODULE;

	rc = dev_set_name(&chip->devs, "tpmrm%d", chip->dev_num);
	if (!rc)
		rc = cdev_device_add(&chip->cdevs, &chip->devs);
	if (rc) {
		dev_err(&chip->dev, "cannot add tpmrm%d: %d\n",
			chip->dev_num, rc);
		put_device(&chip->devs);
	}
	return rc;
}

/**
 * tpm_devs_remove() - remove /dev/tpmrmN; open files keep the chip
 * @chip: the chip being unregistered
 */
void tpm_devs_remove(struct tpm_chip *chip)
{
	cdev_device_del(&chip->cdevs, &chip->devs);
	put_device(&chip->devs);
}
